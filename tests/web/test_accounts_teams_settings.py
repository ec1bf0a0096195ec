"""The team's settings: whether new requests send a W3C traceparent by default. Owners change
it; the new-request form's box starts as it says; a new team starts as TRACEPARENT_DEFAULT."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apps.accounts import services
from apps.accounts.models import Team
from tests.support.clients import client_for

pytestmark = pytest.mark.django_db


def traceparent_box(client: Client) -> str:
    page = client.get(reverse("runs:new")).content.decode()
    found = re.search(r'<input[^>]*name="send_traceparent"[^>]*>', page)
    assert found is not None
    return found.group(0)


def test_an_owner_sets_the_default_and_the_form_starts_as_it_says(
    team: Team, owner: User, teammate: User
) -> None:
    url = reverse("accounts:change_settings", args=[team.id])
    page = client_for(owner).get(reverse("accounts:team", args=[team.id])).content.decode()
    assert 'data-testid="team-settings"' in page and url in page
    assert client_for(owner).post(url, {"send_traceparent": "on"}).status_code == 302
    team.refresh_from_db()
    assert team.send_traceparent is True
    assert "checked" in traceparent_box(client_for(teammate))  # for everyone in the team
    assert client_for(owner).post(url, {}).status_code == 302  # the box left unticked
    team.refresh_from_db()
    assert team.send_traceparent is False
    assert "checked" not in traceparent_box(client_for(teammate))


def test_a_member_cannot_change_it_and_a_stranger_gets_404(
    team: Team, teammate: User, stranger: User
) -> None:
    url = reverse("accounts:change_settings", args=[team.id])
    page = client_for(teammate).get(reverse("accounts:team", args=[team.id])).content.decode()
    assert 'data-testid="team-settings"' not in page
    assert "do not send a W3C traceparent" in page
    assert client_for(teammate).post(url, {"send_traceparent": "on"}).status_code == 403
    assert client_for(stranger).post(url, {"send_traceparent": "on"}).status_code == 404
    team.refresh_from_db()
    assert team.send_traceparent is False


@pytest.mark.parametrize("default", [True, False])
def test_a_new_team_starts_as_the_deployment_default(
    owner: User, settings: object, default: bool
) -> None:
    settings.TRACEPARENT_DEFAULT = default  # type: ignore[attr-defined]
    membership = services.create_team(name="New", owner=owner)
    membership.team.refresh_from_db()
    assert membership.team.send_traceparent is default
