"""Phase timings, connection and TLS facts with real parts: the real worker process, the
sandbox (live server) and the TLS sandbox; what the run page and the HAR export show."""

import json
import re
import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apps.egress.types import HopFacts
from apps.runs.models import Attempt, Run
from tests.support.clients import client_for
from tests.support.har import VALIDATOR
from tests.system.test_run_pipeline import only_attempt, submit, wait_until_done

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

OHLCV = "/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv"


@pytest.fixture
def signed_in(owner: User) -> Client:
    return client_for(owner)


def hops_of(attempt: Attempt) -> list[HopFacts]:
    hops = [HopFacts.from_dict(hop) for hop in attempt.hops]
    assert hops and all(hop is not None for hop in hops), attempt.hops
    return hops  # type: ignore[return-value]


def run_of(client: Client, url: str, **fields: str) -> tuple[Run, Attempt]:
    run = wait_until_done(submit(client, url, **fields))
    return run, only_attempt(run)


def test_it_times_a_fresh_connection_and_a_reused_one_along_a_redirect_chain(
    celery_worker: object, live_server: object, signed_in: Client
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    assert "localhost" in base  # a name, so the worker resolves it: DNS is timed
    # A POST never goes over a kept connection: the first hop is a new connection.
    run, attempt = run_of(signed_in, f"{base}/sandbox/redirect/2", method="POST")
    first = hops_of(attempt)[0]
    assert first.timings.reused is False
    assert first.timings.dns is not None and first.timings.dns > 0
    assert first.timings.connect is not None and first.timings.connect > 0
    assert first.timings.tls is None  # http
    assert first.connection is not None and first.connection.remote_address in (
        "127.0.0.1",
        "::1",
    )
    # Followed as GETs over the same origin: the later hops reuse the kept connection.
    run, attempt = run_of(signed_in, f"{base}/sandbox/redirect/2", follow_redirects="on")
    hops = hops_of(attempt)
    assert len(hops) == 4 and [hop.status for hop in hops][:3] == [302, 302, 302]
    later = hops[-1]
    assert later.timings.reused is True
    assert (later.timings.dns, later.timings.connect, later.timings.tls) == (None, None, None)
    assert later.connection is not None and later.connection.reused
    assert later.connection.local_port == hops[1].connection.local_port  # type: ignore[union-attr]
    for hop in hops:  # the phases add up to each hop's total (rounding: 0.01 ms)
        phases = [hop.timings.phase(name) or 0.0 for name in ("blocked", "dns", "connect")]
        phases += [hop.timings.phase(name) or 0.0 for name in ("tls", "send", "wait", "receive")]
        assert abs(sum(phases) - hop.timings.total) < 0.01
    assert sum(hop.timings.total for hop in hops) <= attempt.duration_ms + 0.1  # type: ignore[operator]
    page = signed_in.get(reverse("runs:detail", args=[run.id])).content.decode()
    assert 'data-testid="waterfall"' in page and "Hop 1 (302)" in page
    assert 'data-testid="hop-connections"' in page
    assert f"(local port {later.connection.local_port})" in page
    assert "reused" in page


def test_it_puts_the_slow_scenarios_time_in_waiting_for_the_first_byte(
    celery_worker: object, live_server: object, signed_in: Client
) -> None:
    url = f"{live_server.url}{OHLCV}"  # type: ignore[attr-defined]
    _run, attempt = run_of(
        signed_in, url, headers="Accept: application/json\nX-Sandbox-Scenario: slow=1.2"
    )
    timings = hops_of(attempt)[-1].timings
    assert timings.wait is not None and timings.wait >= 1150
    others = [timings.phase(name) or 0.0 for name in ("dns", "connect", "send", "receive")]
    assert max(others) < timings.wait / 4
    causes = [cause["code"] for cause in attempt.diagnosis["causes"]]
    assert "timing.slow_first_byte" not in causes  # 1.2 s is under the 2 s threshold


def test_it_says_a_timeout_struck_while_waiting_for_the_first_byte(
    celery_worker: object, live_server: object, signed_in: Client
) -> None:
    url = f"{live_server.url}{OHLCV}"  # type: ignore[attr-defined]
    _run, attempt = run_of(
        signed_in,
        url,
        headers="Accept: application/json\nX-Sandbox-Scenario: slow=3",
        timeout="1",
    )
    assert attempt.failure_kind == "read_timeout"
    timings = hops_of(attempt)[-1].timings
    assert timings.failed_in == "wait" and timings.receive is None
    evidence = [line for cause in attempt.diagnosis["causes"] for line in cause["evidence"]]
    phase = next(line for line in evidence if line["name"] == "phase")
    assert phase["value"] == "wait"
    assert "then no byte for" in phase["note"] and "did not answer" in phase["note"]


@pytest.mark.parametrize(
    ("case", "verified", "said"),
    [
        ("good", True, "days left"),
        ("expired", False, "expired on"),
        ("wrong-host", False, "wrong.example"),
        ("self-signed", False, "signed by itself"),
        ("untrusted", False, "Untrusted sandbox CA"),
    ],
)
def test_it_shows_what_each_tls_sandbox_certificate_presents(
    celery_worker: object,
    sandbox_tls: object,
    signed_in: Client,
    case: str,
    verified: bool,
    said: str,
) -> None:
    port = sandbox_tls.ports[case]  # type: ignore[attr-defined]
    run, attempt = run_of(signed_in, f"https://localhost:{port}/", method="POST")
    hop = hops_of(attempt)[-1]
    assert hop.tls is not None and hop.tls.leaf is not None, attempt.hops
    leaf = hop.tls.leaf
    assert hop.tls.verified is verified
    assert hop.tls.protocol.startswith("TLSv1")
    assert leaf.key_type.startswith("EC") and leaf.key_bits == 256
    assert leaf.not_after and leaf.issuer
    if verified:
        assert attempt.outcome == Run.Outcome.RESPONSE
        assert hop.timings.tls is not None and hop.timings.tls > 0
        assert leaf.names == ["localhost", "127.0.0.1"] and leaf.days_left > 14
        page = signed_in.get(reverse("runs:detail", args=[run.id])).content.decode()
        assert said in page and 'data-testid="tls-facts"' in page
        return
    assert attempt.failure_kind == "tls"
    assert hop.timings.failed_in == "tls"
    evidence = [line for cause in attempt.diagnosis["causes"] for line in cause["evidence"]]
    notes = " ".join(line["note"] for line in evidence)
    assert said in notes, notes
    if case == "expired":
        assert leaf.days_left < 0 and leaf.not_after[:10] in notes
    if case == "wrong-host":
        assert leaf.names == ["wrong.example"]
    page = signed_in.get(reverse("runs:detail", args=[run.id])).content.decode()
    assert leaf.sha256 in page and "second handshake" in page


def test_the_har_export_carries_the_measured_phases(
    celery_worker: object, live_server: object, signed_in: Client
) -> None:
    run, attempt = run_of(signed_in, f"{live_server.url}{OHLCV}", method="POST")  # type: ignore[attr-defined]
    response = signed_in.get(reverse("runs:export_har"))
    document = json.loads(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    assert [error.message for error in VALIDATOR.iter_errors(document)] == []
    entry = next(
        e
        for e in document["log"]["entries"]
        if uuid.UUID(e["_run"].rstrip("/").split("/")[-1]) == run.id
    )
    timings = hops_of(attempt)[-1].timings
    assert entry["timings"]["dns"] == round(timings.dns, 3)  # type: ignore[arg-type]
    assert entry["timings"]["ssl"] == -1
    assert entry["timings"]["wait"] == round(timings.wait, 3)  # type: ignore[arg-type]
    assert entry["serverIPAddress"] in ("127.0.0.1", "::1")
    assert entry["connection"].isdigit()
    assert entry["response"]["httpVersion"] == "HTTP/1.1"


def test_it_sends_a_new_traceparent_with_each_attempt_when_asked(
    celery_worker: object, live_server: object, signed_in: Client
) -> None:
    url = f"{live_server.url}/sandbox/echo"  # type: ignore[attr-defined]
    run, attempt = run_of(signed_in, url, send_traceparent="on")
    sent = dict((name.lower(), value) for name, value in attempt.sent_headers)
    version, trace_id, parent, flags = sent["traceparent"].split("-")
    assert (version, flags, len(trace_id), len(parent)) == ("00", "01", 32, 16)
    assert sent["traceparent"] in attempt.response_body  # the sandbox echoes what it got
    page = signed_in.get(reverse("runs:detail", args=[run.id])).content.decode()
    assert "Give this to the provider" in page and trace_id in page
    signed_in.post(reverse("runs:retry", args=[run.id]), {"mode": "now"})
    deadline_run = wait_until_done(run.id)
    again = deadline_run.attempts.order_by("-number").first()
    assert again is not None and again.number == 2
    resent = dict((name.lower(), value) for name, value in again.sent_headers)
    assert resent["traceparent"].split("-")[1] != trace_id  # a new trace per attempt
    _, plain_attempt = run_of(signed_in, url)
    assert "traceparent" not in {name.lower() for name, _ in plain_attempt.sent_headers}


def test_the_new_request_form_ticks_traceparent_as_the_team_setting_says(
    signed_in: Client, owner: User
) -> None:
    def box() -> str:
        page = signed_in.get(reverse("runs:new")).content.decode()
        found = re.search(r'<input[^>]*name="send_traceparent"[^>]*>', page)
        assert found is not None
        return found.group(0)

    team = owner.teams.get()
    signed_in.post(reverse("accounts:change_settings", args=[team.id]), {"send_traceparent": "on"})
    assert "checked" in box()
    signed_in.post(reverse("accounts:change_settings", args=[team.id]), {})
    assert "checked" not in box()
