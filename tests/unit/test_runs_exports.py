"""CSV rows and their escaping, HAR entries checked against the HAR 1.2 structure, and the
redaction applied on the way out. Pure: runs and attempts are built, never saved."""

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.egress.redaction import redact_url
from apps.runs import exports
from apps.runs.models import Run
from tests.support.har import RUN_URL, a_run, an_attempt, as_document, entry_of, har_problems

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
