"""Try the fix through the real worker against the sandbox: each scenario with a mechanical
fix gives a follow-up run with exactly that change, and the follow-up proves it."""

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from apps.diagnosis.results import Diagnosis
from apps.runs import selectors
from apps.runs.models import Run
from apps.runs.presets import PRESETS_BY_SLUG
from tests.support.clients import client_for
from tests.system.test_openapi_profile import KEY as SPEC_KEY
from tests.system.test_openapi_profile import spec_for
from tests.system.test_run_pipeline import submit, wait_until_done

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

# Sandbox preset → the kind of fix its diagnosis offers.
SCENARIOS = {
    "sandbox-key-in-query": "move_key_to_header",
    "sandbox-accept": "set_header",
    "sandbox-method": "use_method",
    "sandbox-bad-interval": "set_param",
    "sandbox-access-range": "clip_time_range",
}


@pytest.mark.parametrize(("slug", "kind"), SCENARIOS.items())
def test_the_fix_is_proven_by_its_follow_up(
    slug: str, kind: str, celery_worker: object, live_server: object, owner: User
) -> None:
    client = client_for(owner)
    initial = PRESETS_BY_SLUG[slug].initial(f"{live_server.url}/sandbox")  # type: ignore[attr-defined]
    fields = {name: str(initial[name]) for name in ("method", "params", "headers", "api_key")}
    run = wait_until_done(submit(client, str(initial["url"]), **fields))
    assert run.response_status is not None and run.response_status >= 400
    latest = selectors.latest_finished(selectors.attempts_of(run=run))
    assert latest is not None
    cause = next(c for c in Diagnosis.from_dict(latest.diagnosis).causes if c.fix is not None)
    assert cause.fix is not None and cause.fix.kind == kind, cause

    page = client.get(reverse("runs:detail", args=[run.id])).content.decode()
    assert "Try the fix" in page
    response = client.post(reverse("runs:try_fix", args=[run.id]), {"cause": cause.code})
    assert response.status_code == 302
    followup = wait_until_done(Run.objects.exclude(pk=run.pk).get().id)
    outcome = selectors.fix_outcome_of(run=followup)
    assert followup.response_status == 200, latest.diagnosis_code
    assert outcome is not None and outcome.state == "proven", outcome
    assert outcome.text.startswith("proven: 200 after ")
    for shown in (followup, run):
        page = client.get(reverse("runs:detail", args=[shown.id])).content.decode()
        assert "proven: 200 after" in page
    assert "sandbox-demo-key" not in str(Run.objects.filter(pk=followup.pk).values().get())


def _try_first_fix(client: Client, run: Run, code: str) -> Run:
    latest = selectors.latest_finished(selectors.attempts_of(run=run))
    assert latest is not None
    causes = Diagnosis.from_dict(latest.diagnosis).causes
    index, cause = next((i, c) for i, c in enumerate(causes) if c.code == code)
    assert cause.fix is not None, cause
    response = client.post(
        reverse("runs:try_fix", args=[run.id]), {"cause": code, "index": str(index)}
    )
    assert response.status_code == 302
    followup_id = response["Location"].rstrip("/").split("/")[-1]
    return wait_until_done(uuid.UUID(followup_id))


def test_an_openapi_profiles_fixes_are_proven(
    celery_worker: object, live_server: object, owner: User
) -> None:
    cache.clear()  # upload rate-limit counters
    client = client_for(owner)
    base = live_server.url  # type: ignore[attr-defined]
    uploaded = client.post(reverse("library:profiles"), {"text": spec_for(base, "number")})
    assert uploaded.status_code == 302
    market = f"{base}/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv"

    # The key in the query string; the spec says X-Api-Key.
    run = wait_until_done(submit(client, market, params=f"interval=1h\napi_key={SPEC_KEY}"))
    assert run.diagnosis_code == "openapi.auth.other_way"
    followup = _try_first_fix(client, run, "openapi.auth.other_way")
    outcome = selectors.fix_outcome_of(run=followup)
    assert outcome is not None and outcome.state == "proven", (followup.diagnosis_code, outcome)
    assert outcome.text.startswith("proven: 200 after moving the key to `X-Api-Key`")

    # A value the spec does not allow, corrected to the nearest one it does.
    run = wait_until_done(submit(client, market, params="interval=1h\npage_size=0",
                                 api_key=SPEC_KEY))  # fmt: skip
    followup = _try_first_fix(client, run, "openapi.param.invalid")
    assert followup.query == [["interval", "1h"], ["page_size", "1"]]
    outcome = selectors.fix_outcome_of(run=followup)
    assert outcome is not None and outcome.state == "proven", (followup.diagnosis_code, outcome)


class _MovedHandler(BaseHTTPRequestHandler):
    """/v1/... moved permanently to /v2/... (308); /v2/... answers 200 with JSON."""

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path.startswith("/v1/"):
            self.send_response(308)
            self.send_header("Location", "/v2/" + path.removeprefix("/v1/"))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"path": path, "query": urlsplit(self.path).query}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def moved_upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MovedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_permanent_move_is_fixed_by_the_new_url(
    celery_worker: object, live_server: object, owner: User, moved_upstream: str
) -> None:
    client = client_for(owner)
    run = wait_until_done(submit(client, f"{moved_upstream}/v1/items", params="page=2"))
    assert run.response_status == 308
    latest = selectors.latest_finished(selectors.attempts_of(run=run))
    assert latest is not None
    causes = Diagnosis.from_dict(latest.diagnosis).causes
    cause = next((c for c in causes if c.fix is not None), None)
    assert cause is not None and cause.fix is not None, latest.diagnosis_code
    assert cause.fix.kind == "use_url" and cause.fix.same_host
    followup = _try_first_fix(client, run, cause.code)
    assert followup.url == f"{moved_upstream}/v2/items"
    assert followup.query == [["page", "2"]]  # the request's own query string is kept
    outcome = selectors.fix_outcome_of(run=followup)
    assert outcome is not None and outcome.state == "proven", (followup.diagnosis_code, outcome)
