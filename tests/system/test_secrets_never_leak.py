"""A key sent in a header, the query and the body, and echoed back by the upstream, is
found nowhere but in its encrypted column: not in any stored column, log line, Celery
message, the worker's log, or a page."""

import json
import re
import uuid
from collections.abc import Iterator

import pytest
from celery.signals import before_task_publish
from django.apps import apps as django_apps
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Team
from apps.egress.redaction import secret_forms
from apps.runs import secrets
from apps.runs.models import Attempt, Run
from tests.api.conftest import ApiClient, make_token
from tests.conftest import ARTIFACTS
from tests.support.clients import client_for, streamed_body
from tests.support.leaks import (
    leaked_forms,
    submit_run_with_key_everywhere,
    submit_run_with_secrets,
)
from tests.support.upstream import echoing_upstream, key_encodings
from tests.system.test_run_pipeline import wait_until_done

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

SECRETS = {
    "api_key": "KSECRET-0001-key",
    "query": "QSECRET-0002-query",
    "header": "HSECRET-0003-header",
    "body": "BSECRET-0004-body",
}


@pytest.fixture
def published() -> Iterator[list[str]]:
    messages: list[str] = []

    def record(body: object = None, headers: object = None, **kwargs: object) -> None:
        messages.append(json.dumps([body, headers], default=str))

    before_task_publish.connect(record, weak=False)
    yield messages
    before_task_publish.disconnect(record)


def test_it_keeps_secrets_out_of_everything_but_their_encrypted_column(
    celery_worker: object,
    live_server: object,
    owner: User,
    published: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    worker_log = ARTIFACTS / "test-worker.log"
    log_start = worker_log.stat().st_size
    client = client_for(owner)
    run = submit_run_with_secrets(client, live_server.url, SECRETS)  # type: ignore[attr-defined]
    attempt = run.attempts.get()

    # The upstream really received every secret (it echoed them back, then we redacted).
    assert attempt.response_status == 200
    echoed = attempt.response_body
    assert echoed.count("[redacted]") >= 4, echoed
    kept = secrets.decrypt(run.secrets_encrypted)
    assert kept.api_key == SECRETS["api_key"]
    assert set(SECRETS.values()) <= set(kept.values())  # the token without "Bearer" too

    places = {
        "run row": str(Run.objects.filter(pk=run.id).values().get() | {"secrets_encrypted": ""}),
        "attempt row": str(Attempt.objects.filter(pk=attempt.pk).values().get()),
        "log lines": caplog.text,
        "celery messages": "\n".join(published),
        "worker log": worker_log.read_bytes()[log_start:].decode(errors="replace"),
        "run page": client.get(reverse("runs:detail", args=[run.id])).content.decode(),
        "home page": client.get(reverse("home")).content.decode(),
        "edit form": client.get(reverse("runs:new"), {"from": str(run.id)}).content.decode(),
    }
    assert published, "no Celery message was captured"
    for place, text in places.items():
        for name, value in SECRETS.items():
            assert value not in text, f"the {name} secret is in the {place}"


KEY = "KZ9-everywhere-7Qx4-ohm"


def _rows_of_every_table() -> str:
    """Every row of every table the project has, the encrypted column left out."""
    rows = []
    for model in django_apps.get_models():
        for row in model._default_manager.values():
            row.pop("secrets_encrypted", None)
            rows.append(f"{model._meta.label}: {row}")
    return "\n".join(rows)


def _api_answers(team: Team, owner: User, first: Run, second: Run) -> dict[str, str]:
    """The JSON API's answers about the same runs (issue 15: this test covers them too),
    and a recorded exchange with the key in its credential places, echoed in every encoding
    by its response, diagnosed (`POST /api/v1/diagnose`) and read back."""
    api = ApiClient(make_token(owner, team))
    echoed = " ".join(key_encodings(KEY).values())
    recorded = api.post(
        "/api/v1/diagnose",
        {
            "request": {
                "method": "POST",
                "url": f"https://api.example.com/v1/data?api_key={KEY}&page=1",
                "headers": [
                    {"name": "X-Api-Key", "value": KEY},
                    {"name": "Authorization", "value": f"Bearer {KEY}"},
                ],
                "body": json.dumps({"password": KEY}),
            },
            "response": {
                "status": 401,
                "headers": [{"name": "X-Echo", "value": KEY}],
                "body": json.dumps({"message": f"bad key {KEY}", "echo": echoed}),
            },
        },
    )
    assert recorded.status_code == 201, recorded.content[:500]
    recorded_id = recorded.json()["id"]
    link = api.post(f"/api/v1/runs/{first.id}/share-links", {"lifetime": "1d"})
    assert link.status_code == 201
    answers = {
        "API run": api.get(f"/api/v1/runs/{first.id}"),
        "API second run": api.get(f"/api/v1/runs/{second.id}"),
        "API compare": api.get(f"/api/v1/runs/{second.id}/compare/{first.id}"),
        "API team log": api.get("/api/v1/runs"),
        "API share link": link,
        "API share links": api.get(f"/api/v1/runs/{first.id}/share-links"),
        "API diagnose": recorded,
        "API recorded run": api.get(f"/api/v1/runs/{recorded_id}"),
        "API CSV": api.get("/api/v1/exports/runs.csv"),
        "API HAR": api.get("/api/v1/exports/runs.har"),
    }
    texts = {}
    for place, response in answers.items():
        assert response.status_code in {200, 201}, place
        body = streamed_body(response) if response.streaming else response.content
        texts[place] = body.decode()
    assert "[redacted]" in texts["API run"] and "[redacted]" in texts["API recorded run"]
    assert len(json.loads(texts["API HAR"])["log"]["entries"]) == 3
    return texts


def test_a_key_typed_anywhere_is_found_nowhere_in_any_encoding(
    celery_worker: object,
    team: Team,
    owner: User,
    published: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 13, rows 6 and 7: the key in the key field, the URL's path and query, a
    parameter line, a custom header and the body; the upstream echoes it in every encoding
    (body, JSON escapes, headers, reason phrase). It is in no table, log, Celery message,
    page, export, share page or answer of the JSON API, in any encoding; nor in the pages made
    from the run (a monitor, a saved request, the fixes); an edit and re-run sends it again."""
    caplog.set_level("DEBUG")
    worker_log = ARTIFACTS / "test-worker.log"
    log_start = worker_log.stat().st_size
    client = client_for(owner)
    with echoing_upstream(KEY) as upstream:
        first = submit_run_with_key_everywhere(client, upstream.url, KEY)
        edit = client.get(reverse("runs:new"), {"from": str(first.id)})
        form = {k: v for k, v in edit.context["form"].initial.items() if v not in (None, False)}
        response = client.post(reverse("runs:new"), {**form, "source": str(first.id)})
        assert response.status_code == 302, response.content.decode()[:2000]
        second = wait_until_done(uuid.UUID(response["Location"].rstrip("/").split("/")[-1]))

    # The upstream got the key in every place, both times (the edit form re-sent it).
    assert len(upstream.requests) == 2
    for sent in upstream.requests:
        head, _, body = sent.partition(b"\r\n\r\n")
        assert f"/v1/{KEY}/data?q={KEY}&page=1&ref={KEY}".encode() in head
        assert f"X-Trace: {KEY}".encode() in head and f"X-Api-Key: {KEY}".encode() in head
        assert KEY.encode() in body
    attempt = first.attempts.get()
    assert attempt.response_status == 401
    assert attempt.response_body.count("[redacted]") >= len(key_encodings(KEY)), (
        attempt.response_body
    )

    created = client.post(
        reverse("sharing:create", args=[first.id]), {"visibility": "public", "lifetime": "1d"}
    )
    token = re.search(r'id="share-url"[^>]*value="http[^"]+/s/([A-Za-z0-9_-]+)"', created.text)
    assert token is not None
    pages = {
        "run page": client.get(reverse("runs:detail", args=[first.id])).text,
        "second run page": client.get(reverse("runs:detail", args=[second.id])).text,
        "team log": client.get(reverse("home")).text,
        "compare page": client.get(reverse("runs:compare", args=[second.id, first.id])).text,
        "edit form": client.get(reverse("runs:new"), {"from": str(second.id)}).text,
        "share page": Client().get(reverse("sharing:shared", args=[token.group(1)])).text,
        "CSV": streamed_body(client.get(reverse("runs:export_csv"))).decode(),
        "HAR": streamed_body(client.get(reverse("runs:export_har"))).decode(),
    }
    assert "[redacted]" in pages["share page"] and "401" in pages["compare page"]
    json.loads(pages["HAR"])
    # The pages made from the run (a monitor, a saved request, the fixes).
    for name in ("monitors:new", "saved:save_run", "runs:try_fix", "runs:reauthenticate"):
        answer = client.get(reverse(name, args=[first.id]))
        assert answer.status_code in (200, 302, 405), (name, answer.status_code)
        pages[name] = answer.text
    answers = _api_answers(team, owner, first, second)
    places = {
        **pages,
        **answers,
        "every table": _rows_of_every_table(),
        "log lines": caplog.text,
        "celery messages": "\n".join(published),
        "worker log": worker_log.read_bytes()[log_start:].decode(errors="replace"),
    }
    forms = sorted({*secret_forms([KEY]), *key_encodings(KEY).values()})
    for place, text in places.items():
        assert leaked_forms(text, forms) == [], f"the key is in the {place}"
