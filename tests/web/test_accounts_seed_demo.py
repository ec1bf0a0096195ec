"""`manage.py seed_demo` (run by `make run`): two teams, several people, one password."""

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from apps.accounts.models import Membership, Team
from apps.runs.models import Run

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
    assert Run.objects.count() == 0  # runs are seeded elsewhere


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
    before = (roles(), Team.objects.count(), User.objects.count())
    seed()
    assert (roles(), Team.objects.count(), User.objects.count()) == before


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
