"""Evidence lines: the facts of an exchange that point at a cause, as people read them, and
the findings the rules make of them (a cause key, how likely, the evidence)."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from apps.diagnosis.facts import Facts
from apps.diagnosis.profiles import ParamRule, Profile
from apps.diagnosis.results import Evidence
from apps.egress.redaction import REDACTED, is_secret_header


@dataclass
class Finding:
    keys: tuple[str, ...]  # cause keys, the most specific first
    likelihood: str
    evidence: list[Evidence] = field(default_factory=list)
    param: ParamRule | None = None  # for "400.param.<name>" without wording of its own
    # Only adds its evidence to the same cause found otherwise; never a cause of its own.
    merge_only: bool = False


def status_line(facts: Facts, note: str) -> Evidence:
    reason = f" {facts.reason}" if facts.reason else ""
    return Evidence(source="status", name="status", value=f"{facts.status}{reason}", note=note)


def message_lines(facts: Facts, profile: Profile, note: str | None = None) -> list[Evidence]:
    """The body's telling fields: the envelope's message, a problem's title and detail, an
    HTML page's title and heading, a plain-text line."""
    body = facts.body
    if body is None or not body.fields:
        return []
    api = profile.short_name
    note_given = note is not None
    notes = {
        "envelope": note or f"{api}'s own words about this request.",
        "problem": note or "Problem details (RFC 9457) from the server.",
        "json": note or "The error message in the JSON body.",
        "html": "An HTML page answered, not the API's JSON: a proxy, gateway or web server "
        "in front of the API wrote it.",
        "text": note or "The body, as plain text.",
        "xml": note or "The error in the XML body.",
    }
    roles = {path: role for role, path, _ in body.error.fields} if body.error else {}
    lines = []
    for name, value in body.fields:
        if body.format == "envelope" and name == profile.envelope.result:
            continue
        if body.format == "problem" and name == "status":
            continue
        note = notes.get(body.format, "")
        if body.format == "problem" and not note_given:
            note = PROBLEM_NOTES.get(name, note)
        elif body.format in ("json", "xml") and not note_given and name in roles:
            note = ROLE_NOTES.get(roles[name], note)
        lines.append(Evidence(source="body", name=name, value=facts.shown(value, 200), note=note))
    return lines


ROLE_NOTES = {
    "message": "The error message in the body.",
    "code": "The API's machine-readable error code.",
    "param": "The parameter the API blames.",
    "kind": "The kind of error, as the API classes it.",
    "docs": "Where the API documents this error.",
}
PROBLEM_NOTES = {
    "type": "The problem type (RFC 9457 §3.1.1).",
    "title": "A short summary of the problem type (RFC 9457 §3.1.3).",
    "detail": "What went wrong this time (RFC 9457 §3.1.4).",
    "instance": "This occurrence (RFC 9457 §3.1.5).",
}


def header_line(facts: Facts, name: str, note: str) -> list[Evidence]:
    value = facts.response_header(name)
    if value is None or is_secret_header(name):
        return []
    return [Evidence(source="header", name=name, value=facts.shown(value), note=note)]


def wait_lines(facts: Facts) -> list[Evidence]:
    return [
        Evidence(source="header", name=line.name, value=facts.shown(line.value), note=line.note)
        for line in facts.wait.lines
    ]


def contains(text: str | None, phrases: Iterable[str]) -> bool:
    lowered = (text or "").lower()
    return bool(lowered) and any(phrase.lower() in lowered for phrase in phrases)


def describe_secret(value: str) -> str:
    return f"{REDACTED}, {len(value)} characters"


def scheme_only(value: str) -> str:
    parts = value.split(None, 1)
    if len(parts) == 2 and parts[0].isalpha() and len(parts[0]) <= 20:
        return f"{parts[0]} {REDACTED}"
    return REDACTED
