"""HAR helpers shared by the tests: a check of the HAR 1.2 structure (`har_problems`), the
HAR 1.2 JSON schema (`VALIDATOR`), and runs and attempts built (never saved) to export."""

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
from django.contrib.auth.models import User

from apps.runs import exports
from apps.runs.models import Attempt, Run

STARTED = datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
RUN_URL = "https://dash.example/runs/x/"

# HAR 1.2: per object, required fields with their types, and the optional ones. Any other
# field must be custom, named with a leading underscore.
NUMBER = (int, float)
_SPEC: dict[str, tuple[dict[str, object], dict[str, object]]] = {
    "log": (
        {"version": str, "creator": dict, "entries": list},
        {"browser": dict, "pages": list, "comment": str},
    ),
    "creator": ({"name": str, "version": str}, {"comment": str}),
    "entry": (
        {
            "startedDateTime": str,
            "time": NUMBER,
            "request": dict,
            "response": dict,
            "cache": dict,
            "timings": dict,
        },
        {"pageref": str, "serverIPAddress": str, "connection": str, "comment": str},
    ),
    "request": (
        {
            "method": str,
            "url": str,
            "httpVersion": str,
            "cookies": list,
            "headers": list,
            "queryString": list,
            "headersSize": int,
            "bodySize": int,
        },
        {"postData": dict, "comment": str},
    ),
    "response": (
        {
            "status": int,
            "statusText": str,
            "httpVersion": str,
            "cookies": list,
            "headers": list,
            "content": dict,
            "redirectURL": str,
            "headersSize": int,
            "bodySize": int,
        },
        {"comment": str},
    ),
    "pair": ({"name": str, "value": str}, {"comment": str}),
    "postData": ({"mimeType": str}, {"params": list, "text": str, "comment": str}),
    "content": (
        {"size": int, "mimeType": str},
        {"compression": int, "text": str, "encoding": str, "comment": str},
    ),
    "cache": ({}, {"beforeRequest": dict, "afterRequest": dict, "comment": str}),
    "timings": (
        {"send": NUMBER, "wait": NUMBER, "receive": NUMBER},
        {"blocked": NUMBER, "dns": NUMBER, "connect": NUMBER, "ssl": NUMBER, "comment": str},
    ),
}


def _check(kind: str, value: object, where: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(f"{where}: not an object")
        return
    required, optional = _SPEC[kind]
    for name, kind_of in required.items():
        if name not in value:
            problems.append(f"{where}.{name}: missing")
        elif not isinstance(value[name], kind_of) or isinstance(value[name], bool):  # type: ignore[arg-type]
            problems.append(f"{where}.{name}: {value[name]!r} is not {kind_of}")
    for name, item in value.items():
        if name in required or name.startswith("_"):
            continue
        if name not in optional:
            problems.append(f"{where}.{name}: not a HAR 1.2 field and not custom (_name)")
        elif not isinstance(item, optional[name]):  # type: ignore[arg-type]
            problems.append(f"{where}.{name}: {item!r} is not {optional[name]}")


def har_problems(document: object) -> list[str]:
    """What keeps `document` from being a HAR 1.2 log; empty when it is one."""
    problems: list[str] = []
    if not isinstance(document, dict) or set(document) != {"log"}:
        return ["the document is not {'log': ...}"]
    log = document["log"]
    _check("log", log, "log", problems)
    if problems:
        return problems
    if log["version"] != "1.2":
        problems.append("log.version is not 1.2")
    _check("creator", log["creator"], "log.creator", problems)
    for index, entry in enumerate(log["entries"]):
        where = f"log.entries[{index}]"
        _check("entry", entry, where, problems)
        parts = ("request", "response", "cache", "timings")
        if not isinstance(entry, dict) or not all(isinstance(entry.get(p), dict) for p in parts):
            continue
        datetime.fromisoformat(entry["startedDateTime"])  # ISO 8601, or this raises
        request, response = entry["request"], entry["response"]
        _check("request", request, f"{where}.request", problems)
        _check("response", response, f"{where}.response", problems)
        _check("cache", entry["cache"], f"{where}.cache", problems)
        _check("timings", entry["timings"], f"{where}.timings", problems)
        for field in ("cookies", "headers", "queryString"):
            for n, pair in enumerate(request.get(field, [])):
                _check("pair", pair, f"{where}.request.{field}[{n}]", problems)
        for field in ("cookies", "headers"):
            for n, pair in enumerate(response.get(field, [])):
                _check("pair", pair, f"{where}.response.{field}[{n}]", problems)
        if "postData" in request:
            post = request["postData"]
            _check("postData", post, f"{where}.request.postData", problems)
            if isinstance(post, dict) and ("text" in post) == ("params" in post):
                problems.append(f"{where}.request.postData: exactly one of text and params")
        if isinstance(response.get("content"), dict):
            _check("content", response["content"], f"{where}.response.content", problems)
        timings = entry["timings"]
        if isinstance(timings, dict) and not any(
            p.startswith(f"{where}.timings") for p in problems
        ):
            for name in ("send", "wait", "receive"):
                if timings[name] < 0:
                    problems.append(f"{where}.timings.{name} is negative")
            for name in ("blocked", "dns", "connect", "ssl"):
                if timings.get(name, -1) < -1:
                    problems.append(f"{where}.timings.{name} is below -1")
            phases = ("blocked", "dns", "connect", "send", "wait", "receive")
            total = sum(timings[name] for name in phases if timings.get(name, -1) != -1)
            if abs(total - entry["time"]) > 1e-9:
                problems.append(f"{where}.time {entry['time']} is not the timings' sum {total}")
    return problems


# Building blocks ----------------------------------------------------------------------------


def a_run(**fields: object) -> Run:
    defaults: dict[str, object] = {
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "created_at": STARTED,
        "created_by": User(id=7, username="alice"),
        "method": "GET",
        "url": "https://us.market-api.kaiko.io/v2/data?page=1",
        "host": "us.market-api.kaiko.io",
        "request_headers": [["Accept", "application/json"]],
        "request_body": "",
        "attempt_count": 1,
        "outcome": Run.Outcome.RESPONSE,
        "response_status": 401,
        "diagnosis_code": "kaiko.401.no_key",
        "diagnosis_title": "No API key was sent",
        "severity": "error",
        "duration_ms": 42.5,
        "timeout_seconds": 5,
        "profile": "kaiko",
    }
    return Run(**{**defaults, **fields})


def an_attempt(**fields: object) -> Attempt:
    defaults: dict[str, object] = {
        "number": 1,
        "status": Attempt.Status.DONE,
        "started_at": STARTED,
        "sent_url": "https://us.market-api.kaiko.io/v2/data?page=1",
        "sent_headers": [["Accept", "application/json"], ["X-Api-Key", "[redacted]"]],
        "outcome": Run.Outcome.RESPONSE,
        "response_status": 401,
        "response_reason": "Unauthorized",
        "response_http_version": "HTTP/1.1",
        "response_headers": [["Content-Type", "application/json; charset=utf-8"]],
        "response_body": '{"result": "error", "message": "no key"}',
        "response_body_bytes": 40,
        "duration_ms": 42.5,
        "diagnosis": {"code": "kaiko.401.no_key", "title": "No API key", "severity": "error"},
    }
    return Attempt(**{**defaults, **fields})


def entry_of(run: Run | None = None, attempt: Attempt | None = None) -> dict:
    # As a reader of the file gets it: the text the export writes, parsed.
    return json.loads(
        exports.har_entry_text(run or a_run(), attempt or an_attempt(), run_url=RUN_URL)
    )


def as_document(*entries: dict) -> dict:
    return {"log": {"version": "1.2", "creator": exports.CREATOR, "entries": list(entries)}}


# The HAR 1.2 JSON schema, written from the spec.
SCHEMA = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "har" / "har-1.2.schema.json").read_text()
)
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)
