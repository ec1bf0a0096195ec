"""Runs made from the recorded exchanges of tests/fixtures/exchanges, diagnosed as a worker
would: real diagnoses for page tests, with no worker and no network."""

from typing import Any

from django.contrib.auth.models import User

from apps.accounts.models import Team
from apps.runs.models import Run
from tests.support.factories import finished_run
from tests.unit.test_diagnosis_diagnose_exchanges import FIXTURES, diagnosis_of, load


def run_of_exchange(team: Team, user: User, name: str) -> Run:
    """A finished run of a recorded exchange, diagnosed as a worker would."""
    data, exchange = load(FIXTURES / f"{name}.json")
    diagnosis = diagnosis_of(data, exchange).to_dict()
    common: dict[str, Any] = {
        "diagnosis": diagnosis,
        "diagnosis_code": diagnosis["code"],
        "duration_ms": exchange.elapsed_ms or 120.0,
        "sent_url": exchange.url,
    }
    run = {"method": exchange.method, "url": exchange.url, "host": exchange.url.split("/")[2]}
    if exchange.response is not None:
        body = exchange.response.body.decode("utf-8", "replace")
        return finished_run(
            team,
            user,
            run=run,
            response_status=exchange.response.status,
            response_reason=exchange.response.reason,
            response_headers=[list(pair) for pair in exchange.response.headers],
            response_body=body,
            response_body_bytes=len(exchange.response.body),
            **common,
        )
    assert exchange.failure is not None
    return finished_run(
        team,
        user,
        run=run,
        outcome=Run.Outcome.FAILURE,
        response_status=None,
        response_reason="",
        response_headers=[],
        response_body="",
        response_body_bytes=None,
        failure_kind=exchange.failure.kind.value,
        failure_detail=exchange.failure.detail,
        failure_message=exchange.failure.message,
        **common,
    )
