"""The apidiag CLI on its own: exit codes a CI job can use, the verdict it prints, and a
clear message (exit 4) for each thing the person running it can fix."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from apidiag import main as cli_main
from apidiag.client import _problem_text

from tests.support.servers import closed_port

APIDIAG = Path(sys.executable).with_name("apidiag")


def run_of(outcome: str = "response", status: int | None = 200, **extra: object) -> dict:
    return {
        "id": "00000000-0000-0000-0000-000000000001",
        "url": "http://dash/runs/1/",
        "finished": True,
        "recorded": False,
        "request": {"method": "GET", "url": "https://api.example.com/v1/x"},
        "result": {"outcome": outcome, "status": status, "reason": "", "failure_kind": "dns"},
        "diagnosis": {},
        **extra,
    }


@pytest.mark.parametrize(
    ("outcome", "status", "code"),
    [
        ("response", 200, 0),
        ("response", 304, 0),
        ("response", 401, 1),
        ("response", 429, 1),
        ("response", 500, 2),
        ("response", 503, 2),
        ("failure", None, 3),
    ],
)
def test_exit_codes_follow_the_outcome(outcome: str, status: int | None, code: int) -> None:
    assert cli_main.exit_code_of(run_of(outcome, status)) == code


def test_the_verdict_opens_with_the_answer_then_cause_evidence_and_what_to_do() -> None:
    run = run_of(
        status=401,
        diagnosis={
            "code": "kaiko.401.no_key",
            "title": "No API key was sent",
            "api_name": "Kaiko",
            "api_meaning": "You are not authenticated properly.",
            "causes": [
                {
                    "code": "kaiko.401.no_key",
                    "title": "No API key was sent",
                    "explanation": "The request had no X-Api-Key header.",
                    "evidence": [{"source": "request_header", "name": "X-Api-Key",
                                  "value": "(not sent)", "note": ""}],
                }
            ],
            "playbooks": [{"slug": "reauthenticate", "title": "Re-authenticate",
                           "url": "http://dash/help/playbooks/reauthenticate/"}],
            "wait_seconds": None,
        },
        warnings=["-k/--insecure is not honoured"],
    )  # fmt: skip
    lines = cli_main.verdict_lines(run)
    assert lines[0] == "401 · No API key was sent [kaiko.401.no_key]"
    text = "\n".join(lines)
    assert "Kaiko says: You are not authenticated properly." in text
    assert "- request_header X-Api-Key: (not sent)" in text
    assert "Re-authenticate: http://dash/help/playbooks/reauthenticate/" in text
    assert "Note: -k/--insecure" in text
    assert lines[-1] == "Run: http://dash/runs/1/"


def test_a_failure_verdict_says_there_was_no_response() -> None:
    assert cli_main.verdict_lines(run_of("failure", None))[0] == "No response (dns)"


@pytest.mark.parametrize(
    ("text", "ago"),
    [("1h", timedelta(hours=1)), ("30m", timedelta(minutes=30)), ("2d", timedelta(days=2))],
)
def test_since_takes_durations(text: str, ago: timedelta) -> None:
    value = datetime.strptime(cli_main.since_value(text), "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - ago) - value) < timedelta(minutes=2)
    assert cli_main.since_value("2026-01-31T09:00") == "2026-01-31T09:00"


def problem_response(status: int, body: object, headers: dict | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers.update({"Content-Type": "application/problem+json", **(headers or {})})
    response.url = "http://dash/api/v1/runs"
    return response


def test_problems_are_told_field_by_field() -> None:
    text = _problem_text(
        problem_response(
            422,
            {
                "title": "Your request is not valid",
                "detail": "url: bad; method: bad",
                "errors": [{"field": "url", "message": "bad"}, {"field": "method", "message": "x"}],
            },
        )
    )
    assert text.splitlines() == [
        "422 Your request is not valid: url: bad; method: bad",
        "  url: bad",
        "  method: x",
    ]
    refused = _problem_text(problem_response(401, {"detail": "This API token is revoked."}))
    assert refused == "The API token was refused (APIDIAG_TOKEN): This API token is revoked."
    limited = _problem_text(problem_response(429, {"detail": "Too many"}, {"Retry-After": "7"}))
    assert "Try again in 7 s." in limited
    missing = _problem_text(problem_response(404, {"title": "Not Found", "detail": "No such run."}))
    assert missing == "404 Not Found: No such run."


@pytest.mark.parametrize("body", [{"result": "error", "message": "Not Found"}, {}, "<html>"])
def test_a_404_that_is_not_the_apis_says_to_check_the_address(body: object) -> None:
    """APIDIAG_URL pointing at another site, or a page of the dashboard's (its sandbox
    answers JSON 404s of its own): the message names APIDIAG_URL, whatever the body."""
    response = problem_response(404, body, {"Content-Type": "application/json"})
    assert _problem_text(response) == (
        "http://dash/api/v1/runs was not found: is APIDIAG_URL the dashboard's address "
        "(e.g. http://127.0.0.1:8000)?"
    )


def apidiag(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("APIDIAG_")}
    return subprocess.run(
        [str(APIDIAG), *args], env={**clean, **env}, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["log"], {}, "set APIDIAG_URL"),
        (["log"], {"APIDIAG_URL": "http://127.0.0.1:1"}, "set APIDIAG_TOKEN"),
        (["log"], {"APIDIAG_URL": "ftp://x", "APIDIAG_TOKEN": "t"}, "must start with http"),
        (["run"], {}, "give METHOD URL"),
        (["run", "BREW", "https://x"], {"APIDIAG_URL": "http://x", "APIDIAG_TOKEN": "t"},
         "'BREW' is not a method"),
        (["run", "GET", "https://x", "--key-env", "APIDIAG_NOPE"], {}, "APIDIAG_NOPE"),
        (["run", "GET", "https://x", "-H", "no colon"], {}, "is not a header"),
        (["log", "--class", "9xx"], {}, "Invalid value for '--class'"),
        (["diagnose", "--har", "/nonexistent.har"], {}, "no such file"),
        (["run", "curl https://x", "--env", "prod"], {}, "not a cURL command"),
        (["run", "GET", "https://x", "--vault", "k", "--key-env", "HOME"], {}, "one way"),
        (["run", "--saved", "x", "--save", "y"], {}, "or --save: they are saved"),
    ],
)  # fmt: skip
def test_what_the_person_can_fix_exits_4_with_a_message(
    args: list[str], env: dict[str, str], message: str
) -> None:
    done = apidiag(*args, **env)
    assert done.returncode == 4, done.stdout + done.stderr
    assert message in done.stderr


def test_an_unreachable_dashboard_exits_4(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    done = apidiag("log", APIDIAG_URL=url, APIDIAG_TOKEN="adt_x")
    assert done.returncode == 4
    assert f"Cannot reach the dashboard at {url}" in done.stderr


def test_a_file_that_is_not_a_har_exits_4(tmp_path: Path) -> None:
    path = tmp_path / "x.har"
    path.write_text('{"not": "a har"}')
    done = apidiag("diagnose", "--har", str(path), APIDIAG_URL="http://x", APIDIAG_TOKEN="t")
    assert done.returncode == 4 and "is not a HAR file" in done.stderr


def test_help_exits_0() -> None:
    done = apidiag("--help")
    assert done.returncode == 0 and "diagnose" in done.stdout


def test_a_reader_that_goes_away_does_not_change_the_exit_code() -> None:
    """`apidiag … | head`: the verdict's exit code stands, with no traceback."""
    program = (
        "import sys\nfrom apidiag.main import say\n"
        "for _ in range(20000):\n    say('x' * 100)\nsys.exit(2)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", program], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(10)
    process.stdout.close()
    assert process.wait(timeout=60) == 2
    assert process.stderr.read() == b""
