"""Share links for the tests: one made through the service, and the page it opens."""

from datetime import timedelta

from django.contrib.auth.models import User
from django.urls import reverse

from apps.runs.models import Run
from apps.sharing import services
from apps.sharing.models import ShareLink

WEEK = timedelta(days=7)


def make_link(
    run: Run, user: User, *, visibility: str = "public", lifetime: timedelta | None = WEEK
) -> tuple[ShareLink, str]:
    return services.create_link(run=run, created_by=user, visibility=visibility, lifetime=lifetime)


def share_url(token: str) -> str:
    return reverse("sharing:shared", args=[token])
