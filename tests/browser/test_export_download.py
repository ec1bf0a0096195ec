"""As a person would: filter the log, click "Export CSV" or "Export HAR", get the file of
what the log shows."""

import csv
import io
import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from apps.accounts.models import Team
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD
from tests.support.factories import finished_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in_to_the_log(page: Page, base: str, user: User, query: str = "") -> None:
    page.goto(f"{base}/accounts/login/?next=/{query}")
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/{query}")


@pytest.fixture
def logged_runs(team: Team, owner: User) -> None:
    finished_run(team, owner, run={"url": "https://h.example/fine"})
    finished_run(
        team,
        owner,
        run={"url": "https://h.example/limited"},
        response_status=429,
        response_reason="Too Many Requests",
    )


def test_it_downloads_the_filtered_log_as_csv(
    live_server: object, owner: User, logged_runs: None, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    sign_in_to_the_log(page, base, owner, "?class=4xx")
    screenshot(page, "40-log-before-export")
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Export CSV").click()
    download = waiting.value
    assert download.suggested_filename.startswith("alpha-runs-")
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert [(row["url"], row["status"]) for row in rows] == [("https://h.example/limited", "429")]


def test_it_downloads_the_log_as_har(
    live_server: object, owner: User, logged_runs: None, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    sign_in_to_the_log(page, base, owner)
    with page.expect_download() as waiting:
        page.get_by_role("link", name="Export HAR").click()
    download = waiting.value
    assert download.suggested_filename.endswith(".har")
    document = json.loads(Path(download.path()).read_text())
    assert document["log"]["version"] == "1.2"
    urls = sorted(entry["request"]["url"] for entry in document["log"]["entries"])
    assert urls == ["https://h.example/fine", "https://h.example/limited"]
