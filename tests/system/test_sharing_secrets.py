"""A run whose key went in a header, the query string and the body, and came back echoed by
the upstream (also base64-encoded), shared by link: the key is nowhere in the shared page,
its meta tags, its cURL command, the logs (this process's and the worker's) or the link's row.
"""

import base64
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apps.runs import secrets
from apps.sharing.models import ShareLink
from tests.conftest import ARTIFACTS
from tests.support.clients import client_for
from tests.support.leaks import submit_run_with_secrets

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

SECRETS = {
    "api_key": "KSECRET-share-0001-key",
    "query": "QSECRET-share-0002-query",
    "header": "HSECRET-share-0003-header",
    "body": "BSECRET-share-0004-body",
}
LINK = re.compile(r'id="share-url"[^>]*value="http[^"]+/s/([A-Za-z0-9_-]+)"')


def forms_of(value: str) -> list[str]:
    encoded = base64.b64encode(value.encode()).decode()
    return [value, encoded, encoded.rstrip("="), base64.urlsafe_b64encode(value.encode()).decode()]


def test_a_shared_run_shows_no_secret_anywhere(
    celery_worker: object,
    live_server: object,
    owner: User,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    worker_log = ARTIFACTS / "test-worker.log"
    log_start = worker_log.stat().st_size
    client = client_for(owner)
    run = submit_run_with_secrets(client, live_server.url, SECRETS)  # type: ignore[attr-defined]
    attempt = run.attempts.get()
    assert attempt.response_status == 200
    # The upstream really received every secret: the run holds them all, encrypted.
    assert set(SECRETS.values()) <= set(secrets.decrypt(run.secrets_encrypted).values())

    created = client.post(
        reverse("sharing:create", args=[run.id]), {"visibility": "public", "lifetime": "1d"}
    )
    assert created.status_code == 200
    token = LINK.search(created.content.decode()).group(1)  # type: ignore[union-attr]

    stranger = Client()  # no session at all
    response = stranger.get(reverse("sharing:shared", args=[token]))
    assert response.status_code == 200
    page = response.content.decode()
    shared = response.context["shared"]
    meta = "\n".join(re.findall(r"<meta [^>]*>", page))
    curl = re.search(r'<pre hx-disable id="curl-command"[^>]*>(.*?)</pre>', page, re.S)
    assert curl is not None

    # What a helper needs is there: the echo, the request, the command, the note.
    assert "&quot;method&quot;: &quot;POST&quot;" in page and "/sandbox/echo" in page
    assert "og:title" in meta and "200" in meta
    assert "[redacted]" in page
    assert {"API_KEY", "AUTHORIZATION"} <= set(shared.curl.variables)
    assert "the API key (header X-Api-Key)" in shared.redacted
    assert "header Authorization" in shared.redacted
    assert "query parameter api_key" in shared.redacted

    places = {
        "share page": page,
        "meta tags": meta,
        "cURL text": shared.curl.text + curl.group(1),
        "link creation page": created.content.decode(),
        "log lines": caplog.text,
        "worker log": worker_log.read_bytes()[log_start:].decode(errors="replace"),
        "share link row": str(ShareLink.objects.filter(token_hash__isnull=False).values().get()),
    }
    for place, text in places.items():
        for name, value in SECRETS.items():
            for form in forms_of(value):
                assert form not in text, f"the {name} secret ({form[:6]}…) is in the {place}"
    assert token not in places["share link row"]
