"""What an alert says and how each kind of channel is sent it. Pure: no database.

A generic webhook is signed so that its receiver can check it came from us and is fresh:

    X-Apidiag-Timestamp: <unix seconds>
    X-Apidiag-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the key>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes with the
channel's signing key (shown once when the channel is made), compares it in constant time,
and refuses a timestamp more than 5 minutes away from its clock (replays).
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from apps.diagnosis.lookups import get_playbook
from apps.diagnosis.results import Diagnosis

SIGNATURE_HEADER = "X-Apidiag-Signature"
TIMESTAMP_HEADER = "X-Apidiag-Timestamp"
SIGNATURE_TOLERANCE_SECONDS = 300
EXCERPT_CHARS = 300

HEADLINES = {
    "down": "{name} is down",
    "reminder": "{name} is still down",
    "recovery": "{name} has recovered",
    "test": "Test alert from {name}",
    "incident": "Incident: {name}",
}


@dataclass(frozen=True)
class Outgoing:
    """One HTTP request to a webhook, before it goes through apps.egress."""

    headers: list[tuple[str, str]]
    body: bytes


def evidence_lines(diagnosis: Diagnosis, failures: list[dict[str, Any]]) -> list[str]:
    """The one or two decisive lines: the failed assertion's, then the diagnosis's."""
    lines: list[str] = []
    for failed in failures[:1]:
        lines.append(str(failed.get("title", "")))
    cause = diagnosis.top_cause
    for item in (cause.evidence if cause else [])[: 2 - len(lines)]:
        note = f" ({item.note})" if item.note else ""
        lines.append(f"{item.name}: {item.value}{note}"[:200])
    return [line for line in lines if line][:2]


def what_to_do(diagnosis: Diagnosis) -> str:
    slugs = (diagnosis.top_cause.playbooks if diagnosis.top_cause else []) or diagnosis.playbooks
    for slug in slugs:
        try:
            playbook = get_playbook(slug)
        except KeyError:
            continue
        return f"{playbook.title}: {playbook.summary}"
    return diagnosis.retry_hint or diagnosis.explanation[:200]


def build_message(
    *,
    event: str,
    monitor_name: str,
    monitor_url: str,
    from_state: str,
    to_state: str,
    status: str,
    diagnosis: Diagnosis | None,
    failures: list[dict[str, Any]],
    excerpt: str,
    run_url: str,
    at: str,
) -> dict[str, Any]:
    """The alert as plain data (everything in it redacted already by the caller)."""
    return {
        "event": event,
        "headline": HEADLINES[event].format(name=monitor_name),
        "monitor": monitor_name,
        "monitor_url": monitor_url,
        "change": f"{from_state} → {to_state}",
        "state": to_state,
        "status": status,
        "diagnosis": (
            {"code": diagnosis.code, "title": diagnosis.title} if diagnosis is not None else None
        ),
        "evidence": evidence_lines(diagnosis, failures) if diagnosis is not None else [],
        "what_to_do": what_to_do(diagnosis)
        if diagnosis is not None and event != "recovery"
        else "",
        "excerpt": " ".join(excerpt.split())[:EXCERPT_CHARS],
        "run_url": run_url,
        "at": at,
    }


def as_text(message: dict[str, Any], share_url: str = "") -> str:
    """The alert for people: chat messages and emails."""
    lines = [f"{message['headline']} ({message['change']})"]
    if message.get("status"):
        lines.append(f"Status: {message['status']}")
    if message.get("diagnosis"):
        lines.append(f"Diagnosis: {message['diagnosis']['title']}")
    lines += [f"• {line}" for line in message.get("evidence", [])]
    if message.get("what_to_do"):
        lines.append(f"What to do: {message['what_to_do']}")
    if message.get("excerpt"):
        lines.append(f"Response: {message['excerpt']}")
    if message.get("run_url"):
        lines.append(f"Run: {message['run_url']}")
    if share_url:
        lines.append(f"Share with your team: {share_url}")
    lines.append(f"Monitor: {message['monitor_url']}")
    return "\n".join(lines)


def sign(key: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(key, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify(key: bytes, timestamp: str, body: bytes, signature: str, *, now: float) -> bool:
    """What a receiver does (and the tests): a fresh timestamp and a matching signature."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(sign(key, int(timestamp), body), signature)


def outgoing(
    *, kind: str, message: dict[str, Any], share_url: str, signing_key: bytes, now: int
) -> Outgoing:
    """The request body and headers for a webhook channel of this kind."""
    if kind == "webhook":
        body = json.dumps({**message, "share_url": share_url}, sort_keys=True).encode()
        return Outgoing(
            headers=[
                ("Content-Type", "application/json"),
                (TIMESTAMP_HEADER, str(now)),
                (SIGNATURE_HEADER, sign(signing_key, now, body)),
            ],
            body=body,
        )
    text = as_text(message, share_url)
    # Slack reads "text"; Teams' incoming webhooks read "text", Discord's "content".
    payload = {"text": text} if kind == "slack" else {"text": text, "content": text[:2000]}
    return Outgoing(
        headers=[("Content-Type", "application/json")], body=json.dumps(payload).encode()
    )
