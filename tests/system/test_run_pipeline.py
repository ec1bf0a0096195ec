"""The whole path with real parts: web view → broker → a Celery worker process → HTTP to the
sandbox (served by the live test server) → diagnosis → stored run → run page."""

import time
import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apps.runs.models import Attempt, Run
from tests.support.clients import client_for
from tests.support.servers import closed_port

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

OHLCV = "/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv"


def submit(client: Client, url: str, **fields: str) -> uuid.UUID:
    data = {
        "method": "GET",
        "url": url,
        "params": "",
        "headers": "Accept: application/json",
        "body": "",
        "api_key": "",
        "timeout": "10",
        "profile": "",
        **fields,
    }
    response = client.post(reverse("runs:new"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return uuid.UUID(response["Location"].rstrip("/").split("/")[-1])


def only_attempt(run: Run) -> Attempt:
    attempts = list(run.attempts.all())
    assert len(attempts) == 1, attempts
    return attempts[0]


def wait_until_done(run_id: uuid.UUID, timeout: float = 30) -> Run:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = Run.objects.get(pk=run_id)
        if run.status == Run.Status.DONE:
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} is still {run.status} after {timeout} s")


@pytest.fixture
def signed_in(owner: User) -> Client:
    return client_for(owner)


def test_it_runs_a_request_without_a_key_and_explains_the_401(
    celery_worker: object, live_server: object, signed_in: Client
) -> None:
    run_id = submit(signed_in, f"{live_server.url}{OHLCV}")  # type: ignore[attr-defined]
    run = wait_until_done(run_id)
    attempt = only_attempt(run)
    assert run.response_status == attempt.response_status == 401
    assert attempt.deliveries == 1
    assert run.diagnosis_code.startswith("kaiko.401")
    assert "You are not authenticated properly" in (attempt.diagnosis["api_meaning"] or "")
    assert "reauthenticate" in attempt.diagnosis["playbooks"]
    page = signed_in.get(reverse("runs:detail", args=[run_id])).content.decode()
    assert "401" in page and "You are not authenticated properly" in page
    assert reverse("diagnosis:playbook", args=["reauthenticate"]) in page


def test_it_runs_a_rate_limited_request_and_explains_the_429(
    celery_worker: object, live_server: object, signed_in: Client
) -> None:
    run_id = submit(
        signed_in,
        f"{live_server.url}{OHLCV}",  # type: ignore[attr-defined]
        api_key="sandbox-demo-key",
        headers="Accept: application/json\nX-Sandbox-Scenario: ratelimit",
    )
    run = wait_until_done(run_id)
    attempt = only_attempt(run)
    assert run.response_status == 429
    assert run.diagnosis_code.startswith("kaiko.429")
    assert attempt.diagnosis["retryable"] is True
    assert attempt.diagnosis["retry_after_seconds"] is not None
    assert "back-off" in attempt.diagnosis["playbooks"]
    # The key went out (the sandbox accepted it) but is stored nowhere in clear.
    assert ["X-Api-Key", "[redacted]"] in attempt.sent_headers
    for model, pk in ((Run, run_id), (Attempt, attempt.pk)):
        row = model.objects.filter(pk=pk).values().get()
        assert all(
            "sandbox-demo-key" not in str(v) for k, v in row.items() if k != "secrets_encrypted"
        )


def test_it_stores_a_refused_connection_as_an_explained_result(
    celery_worker: object, live_server: object, signed_in: Client
) -> None:
    run_id = submit(signed_in, f"http://127.0.0.1:{closed_port()}/v2/data")
    run = wait_until_done(run_id)
    assert run.outcome == Run.Outcome.FAILURE
    assert run.failure_kind == "connection_refused"
    assert run.diagnosis_code.startswith("network.connection_refused")
    assert only_attempt(run).diagnosis["playbooks"]
    page = signed_in.get(reverse("runs:detail", args=[run_id])).content.decode()
    assert "No response" in page and "refused" in page


def test_it_gets_a_valid_answer_with_the_demo_key(
    celery_worker: object, live_server: object, signed_in: Client
) -> None:
    run_id = submit(
        signed_in,
        f"{live_server.url}{OHLCV}",  # type: ignore[attr-defined]
        api_key="sandbox-demo-key",
        params="interval=1h\npage_size=3",
    )
    run = wait_until_done(run_id)
    attempt = only_attempt(run)
    assert run.response_status == 200, attempt.response_body
    assert '"result":"success"' in attempt.response_body.replace(" ", "")
    assert run.severity == "ok"


def test_it_retries_a_429_after_retry_after_and_ends_done_on_the_200(
    celery_worker: object, live_server: object, signed_in: Client
) -> None:
    run_id = submit(
        signed_in,
        f"{live_server.url}{OHLCV}",  # type: ignore[attr-defined]
        api_key="sandbox-demo-key",
        headers=f"Accept: application/json\nX-Sandbox-Scenario: fail-first=1:429;id={uuid.uuid4()}",
        auto_retry="on",
    )
    run = wait_until_done(run_id)
    attempts = list(run.attempts.order_by("number"))
    assert [a.response_status for a in attempts] == [429, 200]
    assert [a.reason for a in attempts] == [Attempt.Reason.FIRST, Attempt.Reason.BACKOFF]
    assert "Retry-After" in attempts[1].wait_reason
    assert attempts[1].started_at is not None and attempts[0].finished_at is not None
    waited = (attempts[1].started_at - attempts[0].finished_at).total_seconds()
    assert waited >= 0.9  # Retry-After: 1 was honoured
    assert run.response_status == 200 and run.attempt_count == 2
    page = signed_in.get(reverse("runs:detail", args=[run_id])).content.decode()
    assert 'data-testid="timeline"' in page and "#2" in page


def test_it_does_not_retry_a_post_that_got_a_503(
    celery_worker: object, live_server: object, signed_in: Client
) -> None:
    run_id = submit(
        signed_in,
        f"{live_server.url}{OHLCV}",  # type: ignore[attr-defined]
        method="POST",
        api_key="sandbox-demo-key",
        headers="Accept: application/json\nX-Sandbox-Scenario: maintenance=1",
        auto_retry="on",
    )
    run = wait_until_done(run_id)
    attempt = only_attempt(run)
    assert attempt.response_status == 503
    assert "not idempotent" in attempt.wait_reason
    time.sleep(1.5)  # longer than the Retry-After: still one attempt
    assert run.attempts.count() == 1


def test_it_follows_redirects_and_stores_them_redacted(
    celery_worker: object, live_server: object, signed_in: Client
) -> None:
    secret = "REDIRECT-SECRET-123"
    run_id = submit(
        signed_in,
        f"{live_server.url}/sandbox/redirect/2?api_key={secret}",  # type: ignore[attr-defined]
        follow_redirects="on",
    )
    run = wait_until_done(run_id)
    attempt = only_attempt(run)
    assert attempt.response_status == 200
    assert [status for status, _ in attempt.redirects] == [302, 302, 302]
    assert "/sandbox/echo" in attempt.redirects[-1][1]
    stored = str(Attempt.objects.filter(pk=attempt.pk).values().get())
    assert secret not in stored
    page = signed_in.get(reverse("runs:detail", args=[run_id])).content.decode()
    assert "Redirects followed" in page and secret not in page
