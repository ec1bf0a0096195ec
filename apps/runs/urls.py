from django.urls import path

from apps.runs import views

app_name = "runs"

urlpatterns = [
    path("new/", views.new_run, name="new"),
    path("<uuid:run_id>/", views.run_detail, name="detail"),
]
