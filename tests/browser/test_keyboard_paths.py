"""Without a mouse: reach the run's primary action, open and close its dialog, search the
body; filter the help page, copy a sandbox key, switch to dark mode and back."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Browser, expect

from apps.accounts.models import Team
from tests.browser.conftest import screenshot
from tests.browser.test_submit_flow import sign_in
from tests.support.exchanges import run_of_exchange

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_keyboard_reaches_what_matters(
    live_server: object, owner: User, team: Team, browser: Browser
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    run = run_of_exchange(team, owner, "sandbox-kaiko-401-no-key")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        sign_in(page, base, owner)
        page.goto(f"{base}{reverse('runs:detail', args=[run.id])}")
        primary = page.get_by_test_id("verdict-actions").locator(".primary")
        for _ in range(40):
            page.keyboard.press("Tab")
            if primary.evaluate("el => el === document.activeElement"):
                break
        expect(primary).to_be_focused()
        expect(primary).to_have_text("Re-authenticate")
        page.keyboard.press("Enter")
        dialog = page.locator("#reauth-dialog")
        expect(dialog).to_be_visible()
        expect(page.get_by_label("New API key")).to_be_focused()
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()

        # The body viewer: searched from the keyboard, its scroll region focusable.
        page.get_by_label("Search the response body").focus()
        page.keyboard.type("x-api-key")
        expect(page.locator("#body-search-count")).to_have_text("1 line")
        expect(page.locator("ol.code > li.hit")).to_have_count(1)
        expect(page.locator(".code-scroll").first).to_have_attribute("tabindex", "0")

        # Help: the filter box leaves the matching rows.
        page.goto(f"{base}/help/")
        page.get_by_label("Filter errors, causes and playbooks").fill("certificate_expired")
        expect(page.locator("tr[id='network.tls.certificate_expired']")).to_be_visible()
        expect(page.locator("tr[id='network.dns']")).to_be_hidden()
        screenshot(page, "50-help-filtered")

        # Sandbox: copy a key with one keypress.
        page.goto(f"{base}/sandbox/")
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        copy = page.locator("button[data-copy=sandbox-key-1]")
        key = page.locator("#sandbox-key-1").inner_text()
        copy.focus()
        page.keyboard.press("Enter")
        expect(copy).to_have_text("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == key

        # Dark mode: the toggle, remembered on the next page.
        toggle = page.get_by_role("button", name="Dark mode")
        expect(toggle).to_have_attribute("aria-pressed", "false")
        toggle.focus()
        page.keyboard.press("Enter")
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        page.goto(f"{base}/")
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        expect(page.get_by_role("button", name="Dark mode")).to_have_attribute(
            "aria-pressed", "true"
        )
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(16, 20, 27)"
        screenshot(page, "51-log-dark")
    finally:
        context.close()
