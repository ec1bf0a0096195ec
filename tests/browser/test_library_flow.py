"""As a person would: paste a cURL command from the docs, send it, see the diagnosis; save
it in a collection, run the collection, see the summary. And a HAR that Chromium itself
recorded (Playwright's record_har) imported, an entry diagnosed as recorded."""

import json
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from apps.accounts.models import Team
from apps.library.models import Environment
from apps.vault.models import VaultSecret
from tests.browser.conftest import screenshot
from tests.browser.test_pages_axe import Sweep
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


def test_a_vault_key_and_an_environment_from_the_form_then_the_saved_request_edited(
    celery_worker: object, live_server: object, owner: User, team: Team, browser: Browser
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    # The test browser alone ignores the Content-Security-Policy, to let axe-core in.
    context = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)
    try:
        _vault_key_environment_edit_and_delete(context.new_page(), base, owner, team)
    finally:
        context.close()


def _vault_key_environment_edit_and_delete(page: Page, base: str, owner: User, team: Team) -> None:
    page.set_default_timeout(20_000)
    key = "sandbox-demo-key"  # the sandbox's key that gets a 200
    Environment.objects.create(team=team, name="local", variables=[["base", base]])
    sign_in(page, base, owner)
    # A 401, re-authenticated with a key that is kept in the vault on the way.
    page.get_by_role("link", name="New request").first.click()
    page.get_by_label("URL").fill(f"{base}{OHLCV}?interval=1d")
    page.get_by_role("button", name="Send request").click()
    result = page.locator("#run-result")
    expect(result.locator(".status-code")).to_have_text("401", timeout=30_000)
    page.get_by_test_id("verdict-actions").get_by_text("Re-authenticate").click()
    page.get_by_label("New API key").fill(key)
    page.get_by_label("Also keep it in the team's vault as").fill("sandbox")
    page.get_by_role("button", name="Send with this key").click()
    expect(page.locator("#run-result .status-code")).to_have_text("200", timeout=30_000)
    secret = VaultSecret.objects.get(team=team)
    assert (secret.name, secret.hosts) == ("sandbox", ["localhost"])

    page.get_by_role("link", name="New request").first.click()
    page.get_by_label("URL").fill("{{base}}" + OHLCV + "?interval=1d")
    page.get_by_label("Or a key from the team's vault").select_option("sandbox")
    page.get_by_label("Environment", exact=True).select_option(label="local")
    assert key not in page.content()
    sweep = Sweep(page=page, width="desktop", problems=[])
    sweep.audit("new-request-vault-environment")
    screenshot(page, "library-04-vault-and-environment")
    page.get_by_role("button", name="Send request").click()

    expect(page).to_have_url(re.compile(rf"{base}/runs/[0-9a-f-]{{36}}/$"))
    result = page.locator("#run-result")
    expect(result).to_have_attribute("data-status", "done", timeout=30_000)
    expect(result.locator(".status-code")).to_have_text("200")
    assert key not in page.content()

    page.get_by_role("link", name="Save to a collection").click()
    page.get_by_label("Name", exact=True).fill("OHLCV")
    page.get_by_label("New collection's name").fill("Local")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Edit, rename or move").click()
    page.get_by_label("Name", exact=True).fill("OHLCV daily")
    page.get_by_label("Folder").fill("Aggregates")
    assert key not in page.content()
    sweep.audit("saved-request-edit")
    page.set_viewport_size({"width": 390, "height": 844})
    Sweep(page=page, width="phone", problems=sweep.problems).audit("saved-request-edit-phone")
    page.set_viewport_size({"width": 1200, "height": 900})
    screenshot(page, "library-05-saved-request-edit")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("OHLCV daily")
    expect(page.get_by_text("Aggregates")).to_be_visible()

    page.get_by_role("button", name="Run").click()  # the saved key: the vault's reference
    expect(page).to_have_url(re.compile(rf"{base}/runs/[0-9a-f-]{{36}}/$"))
    expect(page.locator("#run-result .status-code")).to_have_text("200", timeout=30_000)
    page.go_back()
    page.reload()
    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete “OHLCV daily”?")
    page.get_by_role("button", name="Delete the saved request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Local")
    expect(page.get_by_text("No requests in this collection.")).to_be_visible()
    assert not sweep.problems, "\n".join(sweep.problems)
