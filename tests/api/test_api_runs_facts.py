"""The API answers a run with what its page shows of where the time went: every hop's phase
timings, connection and TLS facts, the request ids of the response, its Server-Timing and
the traceparent sent, redacted as the share page redacts them; a run can ask for a
traceparent, and without saying takes the team's setting (as the form's box starts); the
trends give each phase's p50/p95 by host."""

import base64
import json

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Team
from apps.egress.types import HopFacts, Timings
from apps.runs import secrets
from apps.runs.models import Run
from tests.api.conftest import ApiClient
from tests.support.factories import finished_run
from tests.support.trends import DAY
from tests.web.test_runs_run_timings import HOP, KEY
from tests.web.test_runs_trends_phases import timed

pytestmark = pytest.mark.django_db

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
# A redirect followed over a new connection, then the final request over the kept one.
REDIRECT_HOP = HopFacts(
    timings=Timings(total=40.0, blocked=0.5, dns=3.0, connect=8.0, tls=20.0, send=0.5, wait=8.0),
    connection=HOP.connection,
    tls=HOP.tls,
    status=302,
)
REUSED_HOP = HopFacts(
    timings=Timings(total=80.0, blocked=0.5, send=0.5, wait=70.0, receive=9.0, reused=True),
    connection=HOP.connection,
    tls=HOP.tls,
    status=200,
)


@pytest.fixture
def measured_run(team: Team, owner: User) -> Run:
    return finished_run(
        team,
        owner,
        run={
            "has_api_key": True,
            "secrets_encrypted": secrets.encrypt(secrets.RunSecrets(api_key=KEY)),
            "send_traceparent": True,
        },
        response_headers=[
            ["Content-Type", "application/json"],
            ["X-Request-Id", "req-7f3a9c"],
            ["CF-Ray", f"ray-{KEY}"],  # as if redaction had missed it: the answer redacts
            ["Server-Timing", 'db;dur=42.5;desc="Database", app;dur=61'],
        ],
        redirects=[[302, "https://api.example.test/v2/next"]],
        hops=[REDIRECT_HOP.to_dict(), REUSED_HOP.to_dict()],
        sent_headers=[["traceparent", TRACEPARENT]],
    )


def test_a_run_answers_its_hops_timings_connection_and_tls(
    owner_api: ApiClient, measured_run: Run
) -> None:
    result = owner_api.get(f"/api/v1/runs/{measured_run.id}").json()["result"]
    first, final = result["hops"]
    assert first["status"] == 302 and final["status"] == 200
    assert first["timings"] == {
        "total": 40.0, "blocked": 0.5, "dns": 3.0, "connect": 8.0, "tls": 20.0,
        "send": 0.5, "wait": 8.0, "receive": None, "reused": False, "failed_in": "",
    }  # fmt: skip
    # A reused connection: DNS, connect and TLS explicitly absent, and it says so.
    timings = final["timings"]
    assert (timings["dns"], timings["connect"], timings["tls"]) == (None, None, None)
    assert timings["reused"] is True and timings["wait"] == 70.0
    connection = final["connection"]
    assert connection["remote_address"] == "203.0.113.9" and connection["local_port"] == 50123
    assert connection["http_version"] == "HTTP/1.1"
    assert (connection["body_wire_bytes"], connection["body_decoded_bytes"]) == (700, 1900)
    tls = final["tls"]
    assert (tls["protocol"], tls["cipher"], tls["verified"]) == (
        "TLSv1.3",
        "TLS_AES_128_GCM_SHA256",
        True,
    )
    leaf = tls["chain"][0]
    assert leaf["names"] == ["api.example.test"] and leaf["issuer_common_name"] == "Example CA"
    assert (leaf["not_after"], leaf["days_left"]) == ("2026-12-12T00:00:00+00:00", 7)
    assert (leaf["key_type"], leaf["key_bits"]) == ("RSA", 2048)


def test_a_run_answers_its_request_ids_server_timing_and_traceparent_redacted(
    owner_api: ApiClient, measured_run: Run
) -> None:
    response = owner_api.get(f"/api/v1/runs/{measured_run.id}")
    body = response.json()
    result = body["result"]
    assert {"header": "X-Request-Id", "value": "req-7f3a9c"} in result["request_ids"]
    assert {"header": "CF-Ray", "value": "ray-[redacted]"} in result["request_ids"]
    assert result["server_timing"] == [
        {"name": "db", "duration_ms": 42.5, "description": "Database"},
        {"name": "app", "duration_ms": 61.0, "description": ""},
    ]
    assert result["traceparent"] == TRACEPARENT
    assert body["request"]["send_traceparent"] is True
    text = response.content.decode()
    assert KEY not in text and base64.b64encode(KEY.encode()).decode() not in text


def test_a_run_without_measured_phases_answers_them_empty(
    owner_api: ApiClient, team: Team, owner: User
) -> None:
    run = finished_run(team, owner)
    result = owner_api.get(f"/api/v1/runs/{run.id}").json()["result"]
    facts = {name: result[name] for name in ("hops", "request_ids", "server_timing")}
    assert facts == {"hops": [], "request_ids": [], "server_timing": []}
    assert result["traceparent"] == ""


@pytest.mark.parametrize(
    ("asked", "default", "sent"),
    [(True, False, True), (False, True, False), (None, True, True), (None, False, False)],
)
@pytest.mark.parametrize("path", ["/api/v1/runs", "/api/v1/runs/curl"])
def test_a_submitted_run_sends_a_traceparent_as_asked_else_as_the_team_says(
    owner_api: ApiClient, team: Team, path: str, asked: bool | None, default: bool, sent: bool
) -> None:
    Team.objects.filter(pk=team.pk).update(send_traceparent=default)
    url = "https://api.example.test/v2/data"
    payload: dict[str, object] = {"url": url}
    if path.endswith("curl"):
        payload = {"command": f"curl {url}"}
    if asked is not None:
        payload["send_traceparent"] = asked
    response = owner_api.post(path, payload)
    assert response.status_code == 201, json.dumps(response.json())
    assert Run.objects.get(pk=response.json()["id"]).send_traceparent is sent
    assert response.json()["request"]["send_traceparent"] is sent


def test_trends_give_each_phases_p50_and_p95_by_host_of_the_team_only(
    owner_api: ApiClient, team: Team, owner: User, other_team: Team, stranger: User
) -> None:
    for wait in (100.0, 200.0, 300.0):
        timed(team, owner, "a.example", dns=2, connect=10, tls=20, send=1, wait=wait, receive=5)
    timed(team, owner, "a.example", reused=True, send=1, wait=400, receive=5)  # no DNS/TLS
    timed(other_team, stranger, "z.example", dns=1, connect=1, send=1, wait=1, receive=1)
    response = owner_api.get(f"/api/v1/trends?{DAY}")
    assert response.status_code == 200
    body = response.json()
    assert (body["unit"], body["runs"]) == ("hour", 4)
    assert [each["host"] for each in body["durations"]] == ["a.example"]
    (host,) = body["phases"]
    assert (host["host"], host["measured"]) == ("a.example", 4)
    stats = {each["phase"]: each for each in host["phases"]}
    assert list(stats) == ["dns", "connect", "tls", "send", "wait", "receive"]
    assert (stats["wait"]["p50"], stats["wait"]["p95"], stats["wait"]["measured"]) == (
        250.0,
        385.0,
        4,
    )
    assert (stats["tls"]["p50"], stats["tls"]["measured"]) == (20.0, 3)  # reused: not a zero
    bad = owner_api.get("/api/v1/trends", range="9y")
    assert bad.status_code == 422 and "range" in bad.content.decode()
