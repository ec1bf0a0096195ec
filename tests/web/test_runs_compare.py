"""Compare: any two runs ticked in the log, their request differences with the fix marked."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Team
from apps.runs.models import Run
from tests.support.clients import client_for
from tests.support.factories import finished_run

pytestmark = pytest.mark.django_db

UNAUTHORIZED: dict[str, Any] = {
    "response_status": 401,
    "response_reason": "Unauthorized",
    "response_body": '{"result": "error", "message": "No API key"}',
}


def test_it_shows_the_request_change_that_fixed_it(team: Team, owner: User) -> None:
    failed = finished_run(team, owner, run={"query": [["interval", "1h"]]}, **UNAUTHORIZED)
    fixed = finished_run(team, owner, run={"query": [["interval", "1d"]], "has_api_key": True})
    Run.objects.filter(pk=failed.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    page = client_for(owner).get(reverse("runs:compare", args=[fixed.id, failed.id])).content
    html = page.decode()
    section = html[html.index('data-testid="request-diff"') :]
    section = section[: section.index("</section>")]
    assert "The fix" in section
    assert "<code>API key (X-Api-Key)</code>" in section and ">sent<" in section
    assert "<code>Query parameter interval</code>" in section
    assert '<td class="del">1h</td><td class="add">1d</td>' in section
    assert '<span class="del">' in html and '<span class="add">' in html  # the body diff


def test_the_same_request_twice_has_no_request_differences(team: Team, owner: User) -> None:
    first = finished_run(team, owner, **UNAUTHORIZED)
    second = finished_run(team, owner)
    html = client_for(owner).get(reverse("runs:compare", args=[second.id, first.id])).content
    assert b"The same request was sent both times." in html
    assert b"The fix" not in html


def test_it_compares_the_two_runs_ticked_in_the_log(team: Team, owner: User) -> None:
    older = finished_run(team, owner, **UNAUTHORIZED)
    newer = finished_run(team, owner)
    Run.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    client = client_for(owner)
    assert 'form="compare-form"' in client.get(reverse("home")).content.decode()
    response = client.get(reverse("runs:compare_picked"), {"run": [str(older.id), str(newer.id)]})
    assert response.status_code == 302
    assert response["Location"] == reverse("runs:compare", args=[newer.id, older.id])


@pytest.mark.parametrize("picked", [[], ["one"], ["a", "b", "c"]])
def test_it_asks_for_exactly_two(team: Team, owner: User, picked: list[str]) -> None:
    runs = {name: str(finished_run(team, owner).id) for name in picked}
    response = client_for(owner).get(reverse("runs:compare_picked"), {"run": list(runs.values())})
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_another_team_s_run_answers_404(
    team: Team, other_team: Team, owner: User, stranger: User
) -> None:
    mine = finished_run(team, owner)
    theirs = finished_run(other_team, stranger)
    response = client_for(owner).get(
        reverse("runs:compare_picked"), {"run": [str(mine.id), str(theirs.id)]}
    )
    assert response.status_code == 404
    bad = client_for(owner).get(reverse("runs:compare_picked"), {"run": ["x", str(mine.id)]})
    assert bad.status_code == 404
