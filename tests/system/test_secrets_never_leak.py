"""A key sent in a header, the query and the body, and echoed back by the upstream, is
found nowhere but in its encrypted column: not in any stored column, log line, Celery
message, the worker's log, or a page."""

import json
from collections.abc import Iterator

import pytest
from celery.signals import before_task_publish
from django.contrib.auth.models import User
from django.urls import reverse

from apps.runs import secrets
from apps.runs.models import Attempt, Run
from tests.conftest import ARTIFACTS
from tests.support.clients import client_for
from tests.support.leaks import submit_run_with_secrets

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
