"""As a person would: paste a cURL command from the docs, send it, see the diagnosis; save
it in a collection, run the collection, see the summary. And a HAR that Chromium itself
recorded (Playwright's record_har) imported, an entry diagnosed as recorded."""

import json
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_submit_flow import sign_in
from tests.system.test_run_pipeline import OHLCV

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_paste_send_save_and_run_the_collection(
    celery_worker: object, live_server: object, owner: User, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    sign_in(page, base, owner)
    page.get_by_role("link", name="New request").first.click()
    page.get_by_text("Paste a cURL command or a raw HTTP request").click()  # unfolds the box
    page.get_by_label("Paste a command or a raw HTTP request").fill(
        f"curl -k --compressed '{base}{OHLCV}?interval=1d' \\\n  -H 'Accept: application/json'"
    )
    page.get_by_role("button", name="Fill the form").click()
    expect(page.get_by_label("URL")).to_have_value(f"{base}{OHLCV}?interval=1d")
    expect(page.get_by_label("Headers")).to_have_value("Accept: application/json")
    expect(page.get_by_text("-k/--insecure is not honoured")).to_be_visible()
    screenshot(page, "library-01-pasted-curl")
    page.get_by_role("button", name="Send request").click()

    expect(page).to_have_url(re.compile(rf"{base}/runs/[0-9a-f-]{{36}}/$"))
    result = page.locator("#run-result")
    expect(result).to_have_attribute("data-status", "done", timeout=30_000)
    expect(result.locator(".status-code")).to_have_text("401")
    expect(page.get_by_test_id("snippet-curl")).to_contain_text("curl")

    page.get_by_role("link", name="Save to a collection").click()
    page.get_by_label("Name", exact=True).fill("OHLCV without a key")
    page.get_by_label("New collection's name").fill("Kaiko docs")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("OHLCV without a key")
    expect(page.get_by_test_id("history")).to_contain_text("401")
    page.get_by_role("link", name="Kaiko docs").click()
    page.get_by_role("button", name="Run the collection").click()

    summary = page.get_by_test_id("collection-summary")
    expect(summary).to_contain_text("All 1 finished", timeout=30_000)
    expect(summary).to_contain_text("OHLCV without a key")
    expect(summary).to_contain_text("4xx: 1")
    expect(summary.locator(".badge").last).to_have_text("401")
    screenshot(page, "library-02-collection-summary")


def test_a_har_recorded_by_chromium_imports_and_an_entry_is_diagnosed_as_recorded(
    live_server: object, owner: User, browser: Browser, page: Page, tmp_path: Path
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    har = tmp_path / "chromium.har"
    context = browser.new_context(record_har_path=str(har), record_har_content="embed")
    recorder = context.new_page()
    response = recorder.goto(f"{base}{OHLCV}?interval=1d")
    assert response is not None and response.status == 401
    context.close()  # writes the HAR
    assert json.loads(har.read_text())["log"]["entries"]

    sign_in(page, base, owner)
    page.goto(f"{base}/library/har/")
    page.get_by_label("HAR file").set_input_files(str(har))
    page.get_by_role("button", name="Read the entries").click()
    entry = page.get_by_role("checkbox", name="aggregations/ohlcv?interval=1d")
    entry.check()
    screenshot(page, "library-03-har-entries")
    page.get_by_role("button", name="Diagnose as recorded").click()
    expect(page).to_have_url(re.compile(rf"{base}/runs/[0-9a-f-]{{36}}/$"))
    result = page.locator("#run-result")
    expect(result.locator(".status-code")).to_have_text("401")
    expect(result).to_contain_text("You are not authenticated properly")
