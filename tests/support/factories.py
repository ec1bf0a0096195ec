"""Runs and attempts in given states, written straight to the database."""

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from apps.accounts.models import Team
from apps.runs.models import Attempt, Run
from tests.support.servers import closed_port

# Long enough ago for any attempt to count as lost (past RUN_STALE_AFTER and the sweeper's
# delays).
LONG_AGO = timedelta(minutes=10)


def make_run(team: Team, user: User, **fields: object) -> Run:
    defaults: dict[str, object] = {
        "method": "GET",
        "url": "https://us.market-api.kaiko.io/v2/x",
        "host": "us.market-api.kaiko.io",
        "timeout_seconds": 5,
        "profile": "kaiko",
    }
    run = Run.objects.create(team=team, created_by=user, **{**defaults, **fields})
    return run


def add_attempt(run: Run, **fields: object) -> Attempt:
    """The run's next attempt; given `hops`, with their final request's timings in its
    `final_*_ms` columns, as storing a result writes them."""
    number = run.attempts.count() + 1
    attempt = Attempt(run=run, number=number, **fields)
    if "hops" in fields:
        attempt.set_final_phases()
    attempt.save(force_insert=True)
    Run.objects.filter(pk=run.pk).update(attempt_count=number)
    return attempt


def finished_run(team: Team, user: User, *, run: dict | None = None, **attempt: object) -> Run:
    """A done run whose single attempt got the response described by `attempt`."""
    defaults: dict[str, object] = {
        "status": Attempt.Status.DONE,
        "outcome": Run.Outcome.RESPONSE,
        "response_status": 200,
        "response_reason": "OK",
        "response_headers": [["Content-Type", "application/json"]],
        "response_body": '{"result": "success"}',
        "response_body_bytes": 21,
        "duration_ms": 12.5,
        "finished_at": timezone.now(),
        "diagnosis": {
            "code": "kaiko.200",
            "severity": "ok",
            "title": "Success",
            "profile": "kaiko",
            "profile_name": "Kaiko market-data API",
        },
    }
    values: dict[str, Any] = {**defaults, **attempt}
    created = make_run(team, user, status=Run.Status.DONE, **(run or {}))
    add_attempt(created, **values)
    Run.objects.filter(pk=created.pk).update(
        outcome=values["outcome"],
        response_status=values.get("response_status"),
        diagnosis_title=values["diagnosis"].get("title", ""),
        finished_at=values["finished_at"],
    )
    created.refresh_from_db()
    return created


def queued_attempt(team: Team, user: User, method: str = "GET", **fields: object) -> Attempt:
    """An attempt of a queued run to a closed port of 127.0.0.1 (sending it fails at once)."""
    url = f"http://127.0.0.1:{closed_port()}/"
    run = make_run(team, user, method=method, url=url, host="127.0.0.1", timeout_seconds=2,
                   profile="http", status=Run.Status.QUEUED)  # fmt: skip
    return add_attempt(run, **fields)


def lost_attempt(team: Team, user: User, method: str, deliveries: int = 1) -> Attempt:
    """An attempt whose worker was killed while it was running, long ago."""
    then = timezone.now() - LONG_AGO
    attempt = queued_attempt(
        team, user, method, status=Attempt.Status.RUNNING, deliveries=deliveries,
        started_at=then, heartbeat_at=then, published_at=then, worker="w1@host pid 1",
    )  # fmt: skip
    Run.objects.filter(pk=attempt.run_id).update(status=Run.Status.RUNNING)
    return attempt
