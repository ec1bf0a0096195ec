"""`manage.py seed_demo` (run by `make run`): two teams, several people, one password."""

import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import Membership, Team
from apps.runs.models import Attempt, Run
from tests.support.clients import client_for

pytestmark = pytest.mark.django_db
SIGN_IN = re.compile(r"Sign in at (\S+) as user 'demo' with password '([^']+)'")


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def roles() -> set[tuple[str, str, str]]:
    return set(Membership.objects.values_list("user__username", "team__name", "role"))


def test_it_creates_two_teams_and_several_people() -> None:
    seed()
    assert set(Team.objects.values_list("name", flat=True)) == {"Demo team", "Second team"}
    assert roles() == {
        ("demo", "Demo team", "owner"),
        ("demo", "Second team", "member"),
        ("ana", "Second team", "owner"),
        ("ana", "Demo team", "member"),
        ("ben", "Demo team", "member"),
        ("chloe", "Second team", "member"),
    }
    assert Run.objects.filter(team__name="Demo team").count() == 400
    assert Run.objects.filter(team__name="Second team").count() == 60


def test_it_prints_the_demo_password_once_and_only_demo_can_sign_in() -> None:
    first = seed("--url", "http://127.0.0.1:8000/")
    match = SIGN_IN.search(first)
    assert match and match.group(1) == "http://127.0.0.1:8000/"
    assert User.objects.get(username="demo").check_password(match.group(2))
    assert User.objects.get(username="demo").email == "demo@example.com"
    for name in ("ana", "ben", "chloe"):
        assert not User.objects.get(username=name).has_usable_password()
    assert "cannot sign in" in first
    second = seed()
    assert "with password" not in second
    assert "Sign in at http://127.0.0.1:8000/ as user 'demo' (password shown when" in second
    assert match.group(2) not in second


def test_it_is_idempotent() -> None:
    seed()
    before = (roles(), Team.objects.count(), User.objects.count(), Run.objects.count())
    second = seed()
    after = (roles(), Team.objects.count(), User.objects.count(), Run.objects.count())
    assert after == before
    assert Attempt.objects.count() == Run.objects.count()
    assert "example runs" not in second


def test_it_seeds_a_realistic_spread_of_runs_by_the_teams_members() -> None:
    out = seed("--url", "http://127.0.0.1:8000/")
    assert "Demo team: 400 example runs over the last 14 days" in out
    demo = Run.objects.filter(team__name="Demo team")
    makers = set(demo.values_list("created_by__username", flat=True))
    assert makers == {"demo", "ana", "ben"}
    second = set(
        Run.objects.filter(team__name="Second team").values_list("created_by__username", flat=True)
    )
    assert second <= {"ana", "demo", "chloe"} and len(second) >= 2
    oldest = min(demo.values_list("created_at", flat=True))
    assert timezone.now() - oldest < timedelta(days=14, minutes=1)
    assert timezone.now() - oldest > timedelta(days=10)
    hosts = set(demo.values_list("host", flat=True))
    assert {"127.0.0.1", "us.market-api.kaiko.io"} <= hosts
    assert demo.filter(url__startswith="http://127.0.0.1:8000/sandbox/").exists()
    statuses = set(demo.values_list("response_status", flat=True))
    assert {200, 401, 429} <= statuses
    assert demo.filter(outcome=Run.Outcome.FAILURE).exists()


def test_a_team_that_has_runs_gets_no_examples() -> None:
    team = Team.objects.create(name="Second team")
    user = User.objects.create_user("ana")
    Run.objects.create(
        team=team, created_by=user, method="GET", url="https://x.test/", timeout_seconds=5
    )
    seed()
    assert Run.objects.filter(team=team).count() == 1
    assert Run.objects.filter(team__name="Demo team").count() == 400


def test_the_seeded_run_pages_and_log_render() -> None:
    seed()
    client = client_for(User.objects.get(username="demo"))
    assert client.get("/").status_code == 200
    demo = Run.objects.filter(team__name="Demo team")
    samples = [
        demo.filter(response_status=200).first(),
        demo.filter(response_status=429).first(),
        demo.filter(outcome=Run.Outcome.FAILURE).first(),
    ]
    for run in samples:
        assert run is not None
        page = client.get(f"/runs/{run.id}/")
        assert page.status_code == 200
        text = page.content.decode()
        assert run.diagnosis_title.replace("'", "&#x27;") in text
        assert run.host in text


def test_it_resets_only_the_demo_password() -> None:
    old = SIGN_IN.search(seed()).group(2)  # type: ignore[union-attr]
    ana_hash = User.objects.get(username="ana").password
    new = SIGN_IN.search(seed("--reset-password")).group(2)  # type: ignore[union-attr]
    assert new != old
    assert User.objects.get(username="demo").check_password(new)
    assert User.objects.get(username="ana").password == ana_hash


def test_it_keeps_an_existing_demo_user_and_team() -> None:
    """A database seeded before there were two teams gains the rest."""
    team = Team.objects.create(name="Demo team")
    demo = User.objects.create_user("demo", password="kept-password-123")
    Membership.objects.create(user=demo, team=team, role=Membership.Role.OWNER)
    seed()
    assert User.objects.get(username="demo").check_password("kept-password-123")
    assert Team.objects.filter(name="Demo team").count() == 1
    assert ("demo", "Second team", "member") in roles()
