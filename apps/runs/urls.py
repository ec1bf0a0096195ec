from django.urls import path

from apps.runs import views

app_name = "runs"

urlpatterns = [
    path("new/", views.new_run, name="new"),
    path("<uuid:run_id>/", views.run_detail, name="detail"),
    path("<uuid:run_id>/retry/", views.retry, name="retry"),
    path("<uuid:run_id>/try-fix/", views.try_fix, name="try_fix"),
    path("<uuid:run_id>/cancel-retries/", views.cancel_retries, name="cancel_retries"),
    path("<uuid:run_id>/reauthenticate/", views.reauthenticate, name="reauthenticate"),
    path("<uuid:run_id>/compare/<uuid:other_id>/", views.compare, name="compare"),
    path("compare/", views.compare_picked, name="compare_picked"),
    path("export.csv", views.export_csv, name="export_csv"),
    path("export.har", views.export_har, name="export_har"),
    path("trends/", views.trends, name="trends"),
]
