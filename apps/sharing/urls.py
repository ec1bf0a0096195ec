from django.urls import path

from apps.sharing import views

app_name = "sharing"

urlpatterns = [
    path("runs/<uuid:run_id>/share/", views.create_link, name="create"),
    path(
        "runs/<uuid:run_id>/share/<uuid:link_id>/revoke/",
        views.revoke_link,
        name="revoke",
    ),
    path("s/<str:token>", views.shared, name="shared"),
]
