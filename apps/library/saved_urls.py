"""Saved requests, collections and imports: /library/…"""

from django.urls import path

from apps.library import views

app_name = "saved"

urlpatterns = [
    path("import/", views.import_request, name="import"),
]
