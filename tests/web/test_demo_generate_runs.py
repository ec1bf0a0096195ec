"""`manage.py generate_runs`: its arguments, and clear errors for bad ones."""

import io
from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from apps.accounts.models import Team
from apps.runs.models import Attempt, Run

pytestmark = pytest.mark.django_db


def generate(*args: str) -> str:
    out = io.StringIO()
    call_command("generate_runs", *args, stdout=out)
    return out.getvalue()


def test_it_generates_runs_for_the_team_named(
    team: Team, other_team: Team, owner: User, teammate: User
) -> None:
    out = generate("--team", "Alpha", "--count", "120", "--days", "3", "--seed", "1")
    assert Run.objects.filter(team=team).count() == 120
    assert not Run.objects.filter(team=other_team).exists()
    assert not Attempt.objects.exists()
    assert set(Run.objects.values_list("created_by__username", flat=True)) == {"alice", "bob"}
    assert "Created 120 runs and 0 attempts" in out


def test_it_takes_a_team_id_members_and_attempts(team: Team, owner: User, teammate: User) -> None:
    generate("--team", str(team.id), "--count", "30", "--members", "bob", "--with-attempts")
    assert set(Run.objects.values_list("created_by__username", flat=True)) == {"bob"}
    assert Attempt.objects.filter(run__team=team).count() == 30


def test_a_bad_team_name_is_a_clear_error(team: Team, owner: User) -> None:
    with pytest.raises(CommandError, match="No team is called “Nope”"):
        generate("--team", "Nope", "--count", "10")
    assert not Run.objects.exists()


def test_two_teams_with_the_name_ask_for_the_id(team: Team, owner: User) -> None:
    Team.objects.create(name="Alpha")
    with pytest.raises(CommandError, match="Several teams are called “Alpha”"):
        generate("--team", "Alpha", "--count", "10")


def test_members_must_belong_to_the_team(team: Team, owner: User, stranger: User) -> None:
    with pytest.raises(CommandError, match="Not members of team “Alpha”: mallory"):
        generate("--team", "Alpha", "--count", "10", "--members", "alice,mallory")
    assert not Run.objects.exists()


def test_a_team_without_members_is_a_clear_error(team: Team) -> None:
    with pytest.raises(CommandError, match="has no members"):
        generate("--team", "Alpha", "--count", "10")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--count", "0"], "--count must be at least 1"),
        (["--count", "5", "--days", "0"], "--days must be more than 0"),
        (["--count", "5", "--batch-size", "0"], "--batch-size must be at least 1"),
    ],
)
def test_bad_numbers_are_clear_errors(
    team: Team, owner: User, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        generate("--team", "Alpha", *args)


def test_the_same_seed_repeats_itself_without_clashing(team: Team, owner: User) -> None:
    generate("--team", "Alpha", "--count", "50", "--seed", "4")
    generate("--team", "Alpha", "--count", "50", "--seed", "4")
    drawn = Counter(Run.objects.values_list("host", "url", "diagnosis_code", "duration_ms"))
    assert sum(drawn.values()) == 100
    # Each run of the first batch has its twin in the second (new ids, so no clash).
    assert all(times == 2 for times in drawn.values())
