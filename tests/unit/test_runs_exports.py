"""CSV rows and their escaping, HAR entries checked against the HAR 1.2 structure, and the
redaction applied on the way out. Pure: runs and attempts are built, never saved."""

import csv
import io
import json
import uuid
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from hypothesis import given
from hypothesis import strategies as st

from apps.egress.redaction import redact_url
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
    entry = exports.har_entry(run or a_run(), attempt or an_attempt(), run_url=RUN_URL)
    return json.loads(json.dumps(entry))  # as a reader of the file gets it


def as_document(*entries: dict) -> dict:
    return {"log": {"version": "1.2", "creator": exports.CREATOR, "entries": list(entries)}}


# CSV ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("No API key was sent", "No API key was sent"),
        ("a=b", "a=b"),
        ("", ""),
        (401, 401),
        (12.5, 12.5),
    ],
)
def test_it_guards_cells_that_start_like_a_formula(value: object, written: object) -> None:
    assert exports.csv_cell(value) == written


@given(st.text())
def test_it_never_writes_text_that_starts_like_a_formula(text: str) -> None:
    cell = exports.csv_cell(text)
    assert isinstance(cell, str)
    assert not cell.startswith(exports.FORMULA_STARTS)
    assert cell.endswith(text)


def test_it_writes_a_row_per_run_in_the_header_order() -> None:
    row = exports.csv_row(a_run(), run_url=RUN_URL)
    assert dict(zip(exports.CSV_COLUMNS, row, strict=True)) == {
        "created_at": "2025-03-04T05:06:07.890Z",
        "member": "alice",
        "method": "GET",
        "url": "https://us.market-api.kaiko.io/v2/data?page=1",
        "host": "us.market-api.kaiko.io",
        "status": 401,
        "outcome": "response",
        "failure_kind": "",
        "diagnosis_code": "kaiko.401.no_key",
        "diagnosis_title": "No API key was sent",
        "severity": "error",
        "duration_ms": 42.5,
        "attempts": 1,
        "run_url": RUN_URL,
    }


def test_it_writes_empty_cells_for_a_run_without_response_or_member() -> None:
    run = a_run(
        created_by=None,
        outcome=Run.Outcome.FAILURE,
        response_status=None,
        failure_kind="dns",
        duration_ms=None,
    )
    row = dict(zip(exports.CSV_COLUMNS, exports.csv_row(run, run_url=RUN_URL), strict=True))
    assert (row["member"], row["status"], row["duration_ms"]) == ("", "", "")
    assert (row["outcome"], row["failure_kind"]) == ("failure", "dns")


def test_it_quotes_through_the_csv_module_and_reads_back_the_same_text() -> None:
    title = 'Quota "daily", exceeded\nsee the docs'
    run = a_run(diagnosis_title=title, url='https://h.example/a,b?q="x"')
    buffer = io.StringIO()
    csv.writer(buffer).writerow(exports.csv_row(run, run_url=RUN_URL))
    (read,) = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert read[exports.CSV_COLUMNS.index("diagnosis_title")] == title
    assert read[exports.CSV_COLUMNS.index("url")] == 'https://h.example/a,b?q="x"'


def test_it_redacts_a_secret_query_parameter_in_the_csv_url() -> None:
    run = a_run(url="https://h.example/v2?api_key=LEAKED-123&page=2")
    row = exports.csv_row(run, run_url=RUN_URL)
    url = str(row[exports.CSV_COLUMNS.index("url")])
    assert "LEAKED-123" not in url
    assert url == "https://h.example/v2?api_key=[redacted]&page=2"


# URL redaction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://h.example/a?page=1&b=2", "https://h.example/a?page=1&b=2"),
        ("https://h.example/a?token=abc&page=1", "https://h.example/a?token=[redacted]&page=1"),
        ("https://h.example/a?apikey=abc", "https://h.example/a?apikey=[redacted]"),
        ("https://h.example/a?client_secret=s", "https://h.example/a?client_secret=[redacted]"),
        ("https://u:pw-1234@h.example:8443/a", "https://u:[redacted]@h.example:8443/a"),
        ("https://h.example/a?token=", "https://h.example/a?token="),
        ("", ""),
    ],
)
def test_it_redacts_urls_by_parameter_name(url: str, shown: str) -> None:
    assert redact_url(url) == shown


# HAR ----------------------------------------------------------------------------------------


def test_it_writes_an_entry_with_every_required_har_field() -> None:
    entry = entry_of()
    assert har_problems(as_document(entry)) == []
    assert entry["startedDateTime"] == "2025-03-04T05:06:07.890Z"
    assert entry["request"]["method"] == "GET"
    assert entry["request"]["queryString"] == [{"name": "page", "value": "1"}]
    assert "postData" not in entry["request"]
    response = entry["response"]
    assert (response["status"], response["statusText"]) == (401, "Unauthorized")
    assert response["content"] == {
        "size": 40,
        "mimeType": "application/json; charset=utf-8",
        "text": '{"result": "error", "message": "no key"}',
    }
    assert response["bodySize"] == 40
    assert entry["_diagnosis"] == {
        "code": "kaiko.401.no_key",
        "title": "No API key was sent",  # the run's summary of its latest finished attempt
        "severity": "error",
    }
    assert entry["_run"] == RUN_URL
    assert entry["_member"] == "alice"


def test_it_makes_time_the_sum_of_the_known_timings() -> None:
    entry = entry_of(attempt=an_attempt(duration_ms=123.4))
    timings = entry["timings"]
    assert entry["time"] == 123.4
    assert (timings["dns"], timings["connect"], timings["ssl"]) == (-1, -1, -1)
    known = [v for k, v in timings.items() if k not in ("comment", "ssl") and v != -1]
    assert sum(known) == entry["time"]


def test_it_writes_a_valid_entry_for_a_run_that_got_no_response() -> None:
    attempt = an_attempt(
        outcome=Run.Outcome.FAILURE,
        response_status=None,
        response_reason="",
        response_http_version="",
        response_headers=[],
        response_body="",
        response_body_bytes=None,
        failure_kind="dns",
        failure_detail="no_such_host",
        failure_message="The host name does not exist.",
        duration_ms=8.0,
        diagnosis={"code": "network.dns", "title": "Unknown host", "severity": "error"},
    )
    entry = entry_of(attempt=attempt)
    assert har_problems(as_document(entry)) == []
    response = entry["response"]
    assert response["status"] == 0
    assert response["_error"] == "The host name does not exist."
    assert response["_failure"] == {"kind": "dns", "detail": "no_such_host"}
    assert entry["time"] == 8.0


def test_it_writes_a_posted_body_and_a_cut_response() -> None:
    run = a_run(
        method="POST",
        request_headers=[["Content-Type", "application/json"]],
        request_body='{"page": 1}',
    )
    attempt = an_attempt(
        sent_headers=[["Content-Type", "application/json"]],
        response_body="x" * 10,
        response_body_bytes=10,
        response_body_truncated=True,
        response_headers=[["Content-Type", "text/plain"], ["Content-Encoding", "gzip"]],
    )
    entry = entry_of(run, attempt)
    assert har_problems(as_document(entry)) == []
    assert entry["request"]["postData"] == {"mimeType": "application/json", "text": '{"page": 1}'}
    assert entry["request"]["bodySize"] == len('{"page": 1}')
    assert entry["response"]["content"]["_truncated"] is True
    assert entry["response"]["bodySize"] == -1  # the size on the wire is not known


def test_it_redacts_secrets_by_name_again_on_the_way_out() -> None:
    """Values stored by mistake in the clear still leave as [redacted]."""
    run = a_run(
        method="POST",
        request_headers=[["Content-Type", "application/json"]],
        request_body='{"password": "PW-SECRET-1", "page": 1}',
    )
    attempt = an_attempt(
        sent_url="https://h.example/v2?api_key=Q-SECRET-2&page=1",
        sent_headers=[
            ["Content-Type", "application/json"],
            ["Authorization", "Bearer H-SECRET-3"],
            ["X-Api-Key", "K-SECRET-4"],
            ["Cookie", "session=C-SECRET-5"],
        ],
        response_headers=[
            ["Content-Type", "application/json"],
            ["Set-Cookie", "session=S-SECRET-6; HttpOnly"],
            ["Location", "https://h.example/next?token=L-SECRET-7"],
        ],
        response_body='{"echo": {"token": "B-SECRET-8"}}',
        redirects=[[302, "https://h.example/r?secret=R-SECRET-9"]],
    )
    entry = entry_of(run, attempt)
    text = json.dumps(entry)
    assert har_problems(as_document(entry)) == []
    for n in range(1, 10):
        assert "SECRET-" + str(n) not in text, n
    headers = {h["name"]: h["value"] for h in entry["request"]["headers"]}
    assert headers["Authorization"] == headers["X-Api-Key"] == headers["Cookie"] == "[redacted]"
    assert {"name": "api_key", "value": "[redacted]"} in entry["request"]["queryString"]
    assert json.loads(entry["request"]["postData"]["text"]) == {"password": "[redacted]", "page": 1}
    assert entry["response"]["redirectURL"] == "https://h.example/next?token=[redacted]"


def test_the_validator_finds_what_is_missing_or_not_custom() -> None:
    """The structural check itself: it must fail on a broken entry, or it proves nothing."""
    entry = entry_of()
    del entry["response"]["redirectURL"]
    entry["timings"]["wait"] = -3
    entry["extra"] = 1
    problems = har_problems(as_document(entry))
    assert any("redirectURL: missing" in p for p in problems)
    assert any("timings.wait is negative" in p for p in problems)
    assert any(".extra: not a HAR 1.2 field" in p for p in problems)
    assert any("is not the timings' sum" in p for p in problems)
