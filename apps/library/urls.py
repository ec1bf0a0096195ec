from django.urls import path

from apps.library import views

app_name = "library"

urlpatterns = [
    path("", views.profiles, name="profiles"),
    path("<uuid:profile_id>/", views.profile_detail, name="profile"),
    path("<uuid:profile_id>/replace/", views.replace_profile, name="replace"),
    path("<uuid:profile_id>/delete/", views.delete_profile, name="delete"),
]
