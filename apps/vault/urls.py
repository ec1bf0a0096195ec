from django.urls import path

from apps.vault import views

app_name = "vault"

urlpatterns = [
    path("", views.vault, name="vault"),
    path("<uuid:secret_id>/", views.detail, name="detail"),
    path("<uuid:secret_id>/rotate/", views.rotate, name="rotate"),
    path("<uuid:secret_id>/hosts/", views.rebind, name="rebind"),
    path("<uuid:secret_id>/delete/", views.delete, name="delete"),
]
