"""Saved requests, collections and imports: /library/…"""

from django.urls import path

from apps.library import views

app_name = "saved"

urlpatterns = [
    path("", views.collections, name="collections"),
    path("import/", views.import_request, name="import"),
    path("har/", views.import_har, name="har"),
    path("collections/<uuid:collection_id>/", views.collection_detail, name="collection"),
    path("collections/<uuid:collection_id>/run/", views.run_collection, name="run_collection"),
    path(
        "collections/<uuid:collection_id>/delete/",
        views.delete_collection,
        name="delete_collection",
    ),
    path(
        "collections/<uuid:collection_id>/export.json",
        views.export_collection,
        {"kind": "native"},
        name="export",
    ),
    path(
        "collections/<uuid:collection_id>/export.postman.json",
        views.export_collection,
        {"kind": "postman"},
        name="export_postman",
    ),
    path("runs/<uuid:collection_run_id>/", views.collection_run_detail, name="collection_run"),
    path("requests/<uuid:saved_id>/", views.saved_request_detail, name="request"),
    path("requests/<uuid:saved_id>/run/", views.run_saved_request, name="run_request"),
    path("requests/<uuid:saved_id>/open/", views.open_saved_request, name="open_request"),
    path("requests/<uuid:saved_id>/edit/", views.edit_saved_request, name="edit_request"),
    path("requests/<uuid:saved_id>/delete/", views.delete_saved_request, name="delete_request"),
    path("save/<uuid:run_id>/", views.save_run, name="save_run"),
    path("environments/", views.environments, name="environments"),
    path("environments/<uuid:environment_id>/", views.environment_detail, name="environment"),
    path(
        "environments/<uuid:environment_id>/delete/",
        views.delete_environment,
        name="delete_environment",
    ),
]
