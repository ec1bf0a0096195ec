"""The apidiag CLI against the real thing: a live server, a real Celery worker, the sandbox.

- `apidiag run` submits the sandbox's no-key 401, waits, prints kaiko.401.no_key and a share
  link that opens signed out; a pasted cURL command does the same through the server's parser;
- `apidiag diagnose --har` on a HAR the dashboard exported gives the same diagnoses;
- no API answer holds a secret of a run that carried one in every place.
"""

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.contrib.auth.models import User

from apps.accounts.models import Team
from apps.runs.models import Run
from tests.api.conftest import make_token
from tests.support.clients import client_for
from tests.support.factories import finished_run
from tests.support.leaks import submit_run_with_secrets
from tests.support.servers import closed_port
from tests.system.test_run_pipeline import OHLCV

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

APIDIAG = Path(sys.executable).with_name("apidiag")


def apidiag(base_url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert APIDIAG.exists(), "the apidiag CLI is not installed: make test installs ./cli"
    env = {**os.environ, "APIDIAG_URL": base_url, "APIDIAG_TOKEN": token}
    return subprocess.run(
        [str(APIDIAG), *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


@pytest.fixture
def token(owner: User, team: Team) -> str:
    return make_token(owner, team)


def test_run_prints_the_diagnosis_and_a_share_link_that_opens_signed_out(
    celery_worker: object, live_server: object, token: str
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    done = apidiag(
        base, token, "run", "GET", f"{base}{OHLCV}", "-H", "Accept: application/json",
        "--share", "7d",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # a 4xx
    assert "401" in done.stdout and "kaiko.401.no_key" in done.stdout
    assert "What to do:" in done.stdout and "/help/" in done.stdout
    shared = re.search(r"^Share: (\S+)", done.stdout, re.MULTILINE)
    assert shared is not None, done.stdout
    share_url = shared.group(1)
    page = requests.get(share_url, timeout=10)  # a new session: signed out
    assert page.status_code == 200
    assert "401" in page.text and "No API key" in page.text
    run = Run.objects.get()
    assert run.diagnosis_code == "kaiko.401.no_key" and run.share_links.count() == 1


def test_run_takes_a_pasted_curl_command_and_a_key_from_the_environment(
    celery_worker: object, live_server: object, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    command = f"curl -s '{base}{OHLCV}' \\\n  -H 'Accept: application/json'"
    monkeypatch.setenv("APIDIAG_TEST_KEY", "sandbox-demo-key")
    pasted = apidiag(base, token, "run", command, "--json")
    keyed = apidiag(base, token, "run", "GET", f"{base}{OHLCV}", "--key-env", "APIDIAG_TEST_KEY")
    assert pasted.returncode == 1, pasted.stderr
    answer = json.loads(pasted.stdout)
    assert answer["diagnosis"]["code"] == "kaiko.401.no_key"
    assert any("-s" in warning for warning in answer["warnings"])
    assert keyed.returncode == 0, keyed.stdout + keyed.stderr  # the demo key gets a 200
    assert keyed.stdout.startswith("200")
    assert "sandbox-demo-key" not in keyed.stdout


def test_diagnose_har_gives_the_diagnoses_of_the_dashboards_own_export(
    celery_worker: object, live_server: object, token: str, tmp_path: Path
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    for args in (
        ("run", "GET", f"{base}{OHLCV}"),  # 401: no key
        ("run", "GET", f"http://127.0.0.1:{closed_port()}/v2/data"),  # no response
    ):
        assert apidiag(base, token, *args).returncode in {1, 3}
    exported = requests.get(
        f"{base}/api/v1/exports/runs.har",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert exported.status_code == 200
    har = tmp_path / "export.har"
    har.write_bytes(exported.content)
    entries = exported.json()["log"]["entries"]
    expected = sorted(entry["_diagnosis"]["code"] for entry in entries)
    assert len(expected) == 2 and "kaiko.401.no_key" in expected

    done = apidiag(base, token, "diagnose", "--har", str(har), "--json")
    assert done.returncode == 3, done.stderr  # the worst of the two: a network failure
    runs = json.loads(done.stdout)
    assert sorted(run["diagnosis"]["code"] for run in runs) == expected
    assert all(run["recorded"] for run in runs)
    assert Run.objects.filter(recorded=True).count() == 2
    assert not Run.objects.filter(recorded=True, attempts__published_at__isnull=False).exists()


SECRETS = {
    "api_key": "KSECRET-api-0101",
    "query": "QSECRET-qry-0102",
    "header": "HSECRET-hdr-0103",
    "body": "BSECRET-bdy-0104",
}


def test_no_api_answer_holds_a_secret(
    celery_worker: object, live_server: object, owner: User, token: str
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    client = client_for(owner)
    run = submit_run_with_secrets(client, base, SECRETS)
    headers = {"Authorization": f"Bearer {token}"}
    answers = {
        "run": requests.get(f"{base}/api/v1/runs/{run.id}", headers=headers, timeout=10),
        "log": requests.get(f"{base}/api/v1/runs", headers=headers, timeout=10),
        "csv": requests.get(f"{base}/api/v1/exports/runs.csv", headers=headers, timeout=10),
        "har": requests.get(f"{base}/api/v1/exports/runs.har", headers=headers, timeout=10),
    }
    shown = answers["run"].json()
    assert shown["result"]["status"] == 200 and shown["request"]["has_api_key"]
    assert "[redacted]" in shown["result"]["body"]  # the echo of the secrets, removed
    for place, answer in answers.items():
        assert answer.status_code == 200, place
        for name, value in SECRETS.items():
            encoded = base64.b64encode(value.encode()).decode()
            for form in (value, encoded, encoded.rstrip("="), quote(value, safe="")):
                assert form not in answer.text, f"the {name} secret is in the API's {place}"


def test_log_prints_the_filtered_team_log_a_page_at_a_time(
    live_server: object, owner: User, team: Team, token: str
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    older = finished_run(team, owner, response_status=502)
    newer = finished_run(team, owner, response_status=503)
    finished_run(team, owner, response_status=404)
    first = apidiag(base, token, "log", "--class", "5xx", "--since", "1h", "--limit", "1")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0].split()[:4] == ["WHEN", "(UTC)", "WHO", "METHOD"]
    assert "503" in lines[1] and "404" not in first.stdout
    before = re.search(r"--before (\S+)", first.stdout)
    assert before is not None, first.stdout
    cursor = before.group(1)
    second = apidiag(base, token, "log", "--class", "5xx", "--limit", "1", "--before", cursor)
    assert "502" in second.stdout and "503" not in second.stdout
    assert "(more:" not in second.stdout
    as_json = json.loads(apidiag(base, token, "log", "--class", "5xx", "--json").stdout)
    assert [row["id"] for row in as_json["runs"]] == [str(newer.id), str(older.id)]
