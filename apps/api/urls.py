from django.urls import path

from apps.api import views

app_name = "api_tokens"

urlpatterns = [
    path("", views.tokens, name="list"),
    path("<uuid:token_id>/revoke/", views.revoke, name="revoke"),
]
