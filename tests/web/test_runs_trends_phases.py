"""Trends: p50/p95 of each request phase by host, from the attempts' measured phases."""

from typing import Any, cast

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from apps.accounts.models import Team
from apps.egress.types import HopFacts, Timings
from apps.runs.models import Attempt, Run
from tests.support.clients import client_for
from tests.support.factories import add_attempt, make_run
from tests.support.trends import DAY, at, table

pytestmark = pytest.mark.django_db


def timed(team: Team, user: User, host: str, *, reused: bool = False, **phases: float) -> None:
    total = sum(phases.values())
    run = make_run(team, user, host=host, status=Run.Status.DONE, duration_ms=total)
    Run.objects.filter(pk=run.pk).update(created_at=at(6))
    redirect = HopFacts(timings=Timings(total=1.0, blocked=1.0, reused=False), status=302)
    # `phases` holds Timings' phase fields only (all floats); mypy cannot tell them apart.
    fields = cast(dict[str, Any], phases)
    final = HopFacts(timings=Timings(total=total, blocked=0.0, reused=reused, **fields))
    add_attempt(
        run,
        status=Attempt.Status.DONE,
        outcome=Run.Outcome.RESPONSE,
        duration_ms=total,
        hops=[redirect.to_dict(), final.to_dict()],
    )


def test_it_gives_phase_percentiles_per_host_counting_only_requests_in_each_phase(
    team: Team, owner: User, other_team: Team, stranger: User
) -> None:
    for wait in (100.0, 200.0, 300.0):
        timed(team, owner, "a.example", dns=2, connect=10, tls=20, send=1, wait=wait, receive=5)
    timed(team, owner, "a.example", reused=True, send=1, wait=400, receive=5)  # no DNS/TLS
    timed(team, owner, "b.example", dns=40, connect=4, send=1, wait=9, receive=50)
    timed(other_team, stranger, "z.example", dns=1, connect=1, send=1, wait=1, receive=1)
    client = client_for(owner)
    response = client.get(f"{reverse('runs:trends')}?{DAY}")
    text = table(response.content, "phases-table")
    assert text.startswith("Host DNS lookup p50 / p95")
    assert (
        "a.example (4 measured) 2.0 / 2.0 ms 10.0 / 10.0 ms 20.0 / 20.0 ms 1.0 / 1.0 ms "
        "250.0 / 385.0 ms 5.0 / 5.0 ms"
    ) in text
    assert "b.example (1 measured) 40.0 / 40.0 ms 4.0 / 4.0 ms — 1.0 / 1.0 ms" in text
    assert "z.example" not in response.content.decode()
    assert 'id="phases-chart-title"' in response.content.decode()
