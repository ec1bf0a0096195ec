"""An API key sent in a header, the query string and a JSON body, and echoed back by the
upstream, is in neither export of the log: not as it is, nor base64-encoded."""

import base64
import csv
import io
import json

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from apps.accounts.models import Team
from apps.egress.redaction import secret_forms
from apps.runs import services
from apps.runs.forms import RunRequest
from tests.support.clients import client_for, streamed_body
from tests.support.har import har_problems
from tests.system.test_run_pipeline import wait_until_done

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

KEY = "XKEY-7f3a-export-0042"


def test_it_keeps_the_key_out_of_the_csv_and_har_exports(
    celery_worker: object, live_server: object, team: Team, owner: User
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    run = services.submit_run(
        team=team,
        user=owner,
        request=RunRequest(
            method="POST",
            url=f"{base}/sandbox/echo?api_key={KEY}&page=1",
            params=[],
            headers=[("Content-Type", "application/json"), ("Authorization", f"Bearer {KEY}")],
            body=json.dumps({"api_key": KEY, "page": 1}),
            api_key=KEY,
            timeout=10,
            profile="",
        ),
    )
    run = wait_until_done(run.id)
    attempt = run.attempts.get()
    # The upstream got the key in every place (it echoed each back, then it was redacted).
    assert attempt.response_status == 200
    assert attempt.response_body.count("[redacted]") >= 4, attempt.response_body

    client = client_for(owner)
    csv_text = streamed_body(client.get(reverse("runs:export_csv"))).decode()
    har_text = streamed_body(client.get(reverse("runs:export_har"))).decode()

    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert [row["status"] for row in rows] == ["200"]
    document = json.loads(har_text)
    assert har_problems(document) == []
    (entry,) = document["log"]["entries"]
    assert entry["response"]["status"] == 200
    assert "[redacted]" in entry["response"]["content"]["text"]
    headers = {h["name"].lower(): h["value"] for h in entry["request"]["headers"]}
    assert headers["authorization"] == headers["x-api-key"] == "[redacted]"

    forms = {*secret_forms([KEY]), base64.b64encode(f"Bearer {KEY}".encode()).decode()}
    for name, text in {"CSV": csv_text, "HAR": har_text}.items():
        for form in forms:
            assert form not in text, f"the key ({form}) is in the {name} export"
