"""The public status page and badges: public monitors only, names and states only, off and
retired addresses answer 404."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from apps.accounts.models import Team
from apps.monitors import services
from apps.monitors.assertions import parse
from apps.monitors.models import Monitor, StatusPage
from tests.support.clients import client_for
from tests.support.factories import finished_run

UUID_ZERO = "00000000-0000-0000-0000-000000000000"

pytestmark = pytest.mark.django_db


def monitor(team: Team, owner: User, name: str, public: bool) -> Monitor:
    run = finished_run(team, owner, run={"url": "https://api.example/v1/secret-path?x=1"})
    return services.create_monitor(
        team=team, user=owner, source_run=run, name=name, interval_seconds=60,
        assertion_list=[parse("status in 200")], public=public,
    )  # fmt: skip


def test_the_page_shows_public_monitors_without_request_details(team: Team, owner: User) -> None:
    shown = monitor(team, owner, "Market data", public=True)
    monitor(team, owner, "Internal thing", public=False)
    client_for(owner).post(reverse("monitors:status_page"), {"action": "enable"})
    page = StatusPage.objects.get(team=team)
    response = client_for(None).get(reverse("status:public_status", args=[page.key]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Market data" in html and "Internal thing" not in html
    assert "api.example" not in html and "secret-path" not in html
    assert "noindex" in response["X-Robots-Tag"]
    badge = client_for(None).get(reverse("status:badge", args=[page.key, shown.id]))
    assert badge["Content-Type"] == "image/svg+xml"
    assert b"Market data" in badge.content and b"Not checked yet" in badge.content


def test_a_private_monitor_has_no_badge(team: Team, owner: User) -> None:
    hidden = monitor(team, owner, "Internal", public=False)
    page = services.set_status_page(team=team, enabled=True)
    response = client_for(None).get(reverse("status:badge", args=[page.key, hidden.id]))
    assert response.status_code == 404


def test_off_and_retired_addresses_answer_404(team: Team, owner: User) -> None:
    page = services.set_status_page(team=team, enabled=True)
    old = page.key
    rotated = services.set_status_page(team=team, enabled=True, rotate=True)
    assert client_for(None).get(reverse("status:public_status", args=[old])).status_code == 404
    url = reverse("status:public_status", args=[rotated.key])
    assert client_for(None).get(url).status_code == 200
    client_for(owner).post(reverse("monitors:status_page"), {"action": "disable"})
    assert client_for(None).get(url).status_code == 404


@pytest.mark.parametrize("key", ["%00", "a%00b", "%C2%B2%3E", "x y"])
def test_an_address_no_key_can_have_answers_404(key: str) -> None:
    """A NUL in the key reached PostgreSQL (a 500): keys are URL-safe tokens."""
    client = client_for(None)
    assert client.get(f"/status/{key}/").status_code == 404
    assert client.get(f"/status/{key}/{UUID_ZERO}.svg").status_code == 404


def test_another_teams_monitor_is_not_on_the_page(
    team: Team, owner: User, other_team: Team, stranger: User
) -> None:
    theirs = monitor(other_team, stranger, "Theirs", public=True)
    page = services.set_status_page(team=team, enabled=True)
    response = client_for(None).get(reverse("status:badge", args=[page.key, theirs.id]))
    assert response.status_code == 404
    assert (
        "Theirs"
        not in client_for(None)
        .get(reverse("status:public_status", args=[page.key]))
        .content.decode()
    )
