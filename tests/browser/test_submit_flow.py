"""As a person would: sign in, send a request without a key, see the 401 explained, follow
the link to the re-authenticate playbook."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from apps.accounts.models import Team
from apps.sandbox.state import team_scope
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, base: str, user: User) -> None:
    page.goto(f"{base}/")
    expect(page).to_have_url(f"{base}/accounts/login/?next=/")
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Recent runs of Alpha")).to_be_visible()


def test_it_explains_a_401_and_leads_to_reauthenticate(
    celery_worker: object, live_server: object, owner: User, team: Team, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    sign_in(page, base, owner)

    page.get_by_role("link", name="New request").first.click()
    # The grouped picker fills the form in place (htmx) and says which preset it is.
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Start from a preset").select_option(label="No API key (401)")
    expect(page.get_by_test_id("active-preset")).to_contain_text("No API key (401)")
    assert page.evaluate("window.__sameDocument") is True
    expect(page).to_have_url(f"{base}/runs/new/?preset=sandbox-no-key")
    # The team's own sandbox (its maintenance switch and rate limits are the team's).
    sandbox = f"{base}/sandbox/t/{team_scope(team.id)}"
    expect(page.get_by_label("URL")).to_have_value(
        f"{sandbox}/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv"
    )
    expect(page.get_by_label("API key")).to_have_value("")
    screenshot(page, "01-new-request")
    page.get_by_role("button", name="Send request").click()

    # The run's own page, updated in place by the status fragment until the run is done.
    expect(page).to_have_url(re.compile(rf"{base}/runs/[0-9a-f-]{{36}}/$"))
    result = page.locator("#run-result")
    expect(result).to_have_attribute("data-status", "done", timeout=30_000)
    expect(result.locator(".status-code")).to_have_text("401")
    expect(result).to_contain_text("You are not authenticated properly")
    screenshot(page, "02-run-401-explained")

    run_url = page.url
    result.get_by_text("Why we think so").click()
    result.get_by_test_id("playbook-link").first.click()
    expect(page).to_have_url(
        re.compile(rf"{base}/help/playbooks/reauthenticate/\?run=[0-9a-f-]{{36}}$")
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("authenticate")
    screenshot(page, "03-reauthenticate-playbook")
    page.get_by_test_id("back-to-run").click()
    expect(page).to_have_url(run_url)


def test_it_keeps_what_was_typed_when_the_form_has_an_error(
    live_server: object, owner: User, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    sign_in(page, base, owner)
    page.goto(f"{base}/runs/new/")
    page.get_by_label("URL").fill("https://us.market-api.kaiko.io/v2/data")
    page.get_by_label("Headers").fill("Accept application/json")
    page.get_by_label("API key").fill("my-key-123")
    page.get_by_label("API key").press("Control+Enter")  # sends from any field
    # The summary at the top takes the focus; its link leads to the field, and the keyboard on.
    summary = page.get_by_test_id("error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    page.keyboard.press("Tab")
    link = summary.get_by_role("link", name=re.compile("^Headers: Line 1 is not a header"))
    expect(link).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Headers")).to_be_focused()
    expect(page.locator("#id_headers_error")).to_be_visible()
    expect(page.get_by_label("URL")).to_have_value("https://us.market-api.kaiko.io/v2/data")
    expect(page.get_by_label("API key")).to_have_value("my-key-123")
    screenshot(page, "04-form-error")
