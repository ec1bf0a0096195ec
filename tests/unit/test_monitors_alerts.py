"""Alert messages carry the diagnosis; generic webhooks are signed and verifiable."""

import json

from apps.diagnosis.results import Cause, Diagnosis, Evidence
from apps.monitors import alerts

DIAGNOSIS = Diagnosis(
    code="kaiko.503.maintenance",
    severity="error",
    title="Kaiko is under maintenance",
    profile="kaiko",
    profile_name="Kaiko market-data API",
    playbooks=["retry-later"],
    causes=[
        Cause(
            code="kaiko.503.maintenance",
            title="Maintenance",
            evidence=[Evidence(source="header", name="Retry-After", value="600", note="wait")],
        )
    ],
)


def message(event: str = "down") -> dict:
    return alerts.build_message(
        event=event,
        monitor_name="OHLCV",
        monitor_url="http://x/monitors/1/",
        from_state="up",
        to_state="down",
        status="503 Service Unavailable",
        diagnosis=DIAGNOSIS,
        failures=[{"title": "Status 503 is not one of 200-299"}],
        excerpt='{"message":   "maintenance"}',
        run_url="http://x/runs/1/",
        at="2026-01-01T00:00:00+00:00",
    )


def test_the_message_carries_the_diagnosis_evidence_and_advice() -> None:
    sent = message()
    assert sent["headline"] == "OHLCV is down"
    assert sent["change"] == "up → down"
    assert sent["diagnosis"] == {"code": "kaiko.503.maintenance", "title": DIAGNOSIS.title}
    assert sent["evidence"] == ["Status 503 is not one of 200-299", "Retry-After: 600 (wait)"]
    assert sent["what_to_do"]
    assert sent["excerpt"] == '{"message": "maintenance"}'


def test_a_recovery_has_no_advice() -> None:
    assert message("recovery")["what_to_do"] == ""


def test_a_webhook_is_signed_and_the_signature_verifies() -> None:
    key = b"k" * 32
    out = alerts.outgoing(
        kind="webhook", message=message(), share_url="http://x/s/t", signing_key=key, now=1000
    )
    headers = dict(out.headers)
    assert json.loads(out.body)["share_url"] == "http://x/s/t"
    stamp, signature = headers[alerts.TIMESTAMP_HEADER], headers[alerts.SIGNATURE_HEADER]
    assert alerts.verify(key, stamp, out.body, signature, now=1000)
    assert not alerts.verify(b"other", stamp, out.body, signature, now=1000)
    assert not alerts.verify(key, stamp, out.body + b" ", signature, now=1000)
    assert not alerts.verify(key, stamp, out.body, signature, now=1000 + 301)


def test_chat_channels_get_text() -> None:
    slack = json.loads(
        alerts.outgoing(kind="slack", message=message(), share_url="", signing_key=b"", now=1).body
    )
    assert "Kaiko is under maintenance" in slack["text"]
    chat = json.loads(
        alerts.outgoing(kind="chat", message=message(), share_url="", signing_key=b"", now=1).body
    )
    assert chat["content"] == chat["text"]
