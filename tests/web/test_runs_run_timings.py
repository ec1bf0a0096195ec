"""The run page and the share page show an attempt's timings, connection and TLS facts and
the request ids of its response; the share page redacts them like everything else."""

import base64
import re

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Team
from apps.egress.types import Certificate, ConnectionFacts, HopFacts, Timings, TlsFacts
from apps.runs import secrets
from apps.runs.models import Attempt
from tests.support.clients import client_for
from tests.support.factories import add_attempt, finished_run
from tests.support.sharing import make_link, share_url

pytestmark = pytest.mark.django_db
KEY = "KSECRET-timings-0001"

LEAF = Certificate(
    subject="CN=api.example.test",
    common_name="api.example.test",
    names=["api.example.test"],
    issuer="CN=Example CA",
    issuer_common_name="Example CA",
    not_before="2026-01-01T00:00:00+00:00",
    not_after="2026-12-12T00:00:00+00:00",
    days_left=7,
    key_type="RSA",
    key_bits=2048,
    serial="1f",
    sha256="cd" * 32,
    self_issued=False,
)
HOP = HopFacts(
    timings=Timings(
        total=120.0,
        blocked=1.0,
        dns=4.0,
        connect=10.0,
        tls=25.0,
        send=0.5,
        wait=70.0,
        receive=9.5,
    ),
    connection=ConnectionFacts(
        remote_address="203.0.113.9",
        remote_port=443,
        local_port=50123,
        http_version="HTTP/1.1",
        bytes_sent=180,
        bytes_received=2048,
        body_wire_bytes=700,
        body_decoded_bytes=1900,
    ),
    tls=TlsFacts(protocol="TLSv1.3", cipher="TLS_AES_128_GCM_SHA256", chain=[LEAF]),
    status=200,
)


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()  # the share page's rate-limit counters


@pytest.fixture
def attempt(team: Team, owner: User) -> Attempt:
    """A measured attempt whose stored request id still holds the key (as if redaction had
    missed it), so that the share page's own redaction is what is tested."""
    run = finished_run(
        team,
        owner,
        run={
            "has_api_key": True,
            "secrets_encrypted": secrets.encrypt(secrets.RunSecrets(api_key=KEY)),
        },
        response_headers=[
            ["Content-Type", "application/json"],
            ["X-Request-Id", "req-7f3a9c"],
            ["CF-Ray", f"ray-{KEY}"],
            ["Server-Timing", 'db;dur=42.5;desc="Database", app;dur=61'],
        ],
        hops=[HOP.to_dict()],
        sent_headers=[["traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]],
    )
    return run.attempts.get()


def test_the_run_page_shows_where_the_time_went(owner: User, attempt: Attempt) -> None:
    client = client_for(owner)
    page = client.get(reverse("runs:detail", args=[attempt.run_id])).content.decode()
    assert "Give this to the provider's support" in page
    assert "req-7f3a9c" in page and "4bf92f3577b34da6a3ce929d0e0e4736" in page
    assert 'data-testid="waterfall"' in page and "Server: Database" in page
    assert "70.0" in page and "25.0" in page  # the numbers as text, in the table
    assert "203.0.113.9" in page and "TLSv1.3" in page and "TLS_AES_128_GCM_SHA256" in page
    assert "expires in 7 days" in page and "cd" * 32 in page
    assert "700 on the wire, 1900 decoded" in page


def test_the_share_page_shows_them_redacted(owner: User, attempt: Attempt) -> None:
    _, token = make_link(attempt.run, owner)
    page = Client().get(share_url(token)).content.decode()
    assert 'data-testid="waterfall"' in page and "203.0.113.9" in page
    assert "req-7f3a9c" in page and "ray-[redacted]" in page
    assert KEY not in page and base64.b64encode(KEY.encode()).decode() not in page
    assert "4bf92f3577b34da6a3ce929d0e0e4736" in page


def test_an_attempt_without_measured_phases_shows_no_waterfall(team: Team, owner: User) -> None:
    run = finished_run(team, owner)
    client = client_for(owner)
    page = client.get(reverse("runs:detail", args=[run.id])).content.decode()
    assert 'data-testid="waterfall"' not in page and 'data-testid="request-ids"' not in page
    assert run.attempts.get().facts().to_dict() == {
        "hops": [],
        "request_ids": [],
        "server_timing": [],
        "traceparent": "",
    }


def test_every_attempt_of_the_timeline_says_where_its_time_went(team: Team, owner: User) -> None:
    """The waterfall is the latest attempt's; each earlier one keeps its phases in words."""
    timed_out = HopFacts(
        timings=Timings(
            total=5016.0, blocked=0.5, dns=3.0, connect=12.0, send=0.5, wait=5000.0,
            failed_in="wait",
        ),
        connection=HOP.connection,
    )  # fmt: skip
    run = finished_run(
        team,
        owner,
        outcome="failure",
        response_status=None,
        failure_kind="read_timeout",
        failure_detail="no_answer",
        hops=[timed_out.to_dict()],
    )
    add_attempt(
        run,
        status=Attempt.Status.DONE,
        outcome="response",
        response_status=200,
        duration_ms=120.0,
        finished_at=run.finished_at,
        hops=[HOP.to_dict()],
    )
    client = client_for(owner)
    pages = [
        client.get(reverse("runs:detail", args=[run.id])).content.decode(),
        Client().get(share_url(make_link(run, owner)[1])).content.decode(),
    ]
    for page in pages:
        lines = re.findall(r'data-testid="attempt-phases">([^<]*)<', page)
        assert lines == [
            "DNS lookup 3.0 ms, TCP connect 12 ms, sending the request 0.5 ms, waiting for the "
            "first byte 5.0 s; stopped in the phase: waiting for the first byte",
            "DNS lookup 4.0 ms, TCP connect 10 ms, TLS handshake 25 ms, sending the request "
            "0.5 ms, waiting for the first byte 70 ms, download 9.5 ms",
        ]
