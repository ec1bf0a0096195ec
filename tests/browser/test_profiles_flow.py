"""As a person would: open Profiles from the navigation, upload a broken document and see
where it is wrong, upload the Petstore from a file, see what it covers, replace and delete
it; the pages fit a phone's width."""

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_submit_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()  # upload rate-limit counters


def no_sideways_scroll(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide at 390 px"
    page.set_viewport_size({"width": 1200, "height": 900})


def test_it_uploads_sees_replaces_and_deletes_a_profile(
    live_server: object, owner: User, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    sign_in(page, base, owner)
    page.get_by_role("link", name="Profiles").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Profiles")
    expect(page.get_by_text("No profiles yet.")).to_be_visible()
    no_sideways_scroll(page)

    # A broken document: the error names its line, at the field, and the summary has focus.
    page.get_by_label("Or paste it").fill("openapi: 3.0.0\ninfo: [unclosed\n")
    page.get_by_role("button", name="Upload").click()
    summary = page.get_by_test_id("error-summary")
    expect(summary).to_contain_text("line 3")
    expect(summary).to_be_focused()
    expect(page.get_by_label("Or paste it")).to_have_value("openapi: 3.0.0\ninfo: [unclosed\n")
    screenshot(page, "profiles-01-error-at-the-line")

    page.get_by_label("Or paste it").fill("")
    page.get_by_label("OpenAPI document (file)").set_input_files(str(FIXTURES / "kaiko-like.yaml"))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kaiko-like market data")
    expect(page.get_by_test_id("servers")).to_contain_text("https://us.market-api.example.com/v2")
    expect(page.get_by_test_id("schemes")).to_contain_text("X-Api-Key")
    expect(page.get_by_test_id("operations")).to_contain_text("GET /v1/instruments")
    screenshot(page, "profiles-02-what-it-covers")
    no_sideways_scroll(page)

    replace_form = page.locator(
        "form", has=page.get_by_role("heading", name="Replace with a new version")
    )
    replace_form.get_by_label("OpenAPI document (file)").set_input_files(
        str(FIXTURES / "kaiko-like.yaml")
    )
    replace_form.get_by_role("button", name="Upload the new version").click()
    expect(page.get_by_text("Version 2 of “Kaiko-like market data” is in use.")).to_be_visible()
    expect(page.get_by_test_id("versions").locator("li")).to_have_count(2)

    page.get_by_role("link", name="Delete “Kaiko-like market data”…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete “Kaiko-like market data”?")
    page.get_by_role("button", name="Delete the profile").click()
    expect(page.get_by_text("No profiles yet.")).to_be_visible()
