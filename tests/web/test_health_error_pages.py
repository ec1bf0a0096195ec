"""Errors the request did not cause: a database that cannot be reached answers 503."""

import pytest
from django import db
from django.test import Client
from django.urls import path

from dashboard.urls import urlpatterns as dashboard_urls


def database_gone(request):
    raise db.OperationalError("connection to server at 127.0.0.1, port 5432 failed")


def bug(request):
    raise ZeroDivisionError


urlpatterns = [
    *dashboard_urls,
    path("test-database-gone/", database_gone),
    path("test-bug/", bug),
]
handler500 = "apps.health.views.server_error"


@pytest.fixture
def client_without_raise(settings) -> Client:
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    return Client(raise_request_exception=False)


@pytest.mark.django_db
def test_a_database_outage_answers_503_with_a_page_that_says_so(client_without_raise) -> None:
    response = client_without_raise.get("/test-database-gone/")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    page = response.content.decode()
    assert "cannot reach its database" in page
    assert "5432" not in page  # no internals


@pytest.mark.django_db
def test_any_other_error_is_a_plain_500(client_without_raise) -> None:
    response = client_without_raise.get("/test-bug/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


def test_the_project_uses_this_handler() -> None:
    import dashboard.urls

    assert dashboard.urls.handler500 == "apps.health.views.server_error"
