"""As a person would: make an API token on the Tokens page, copy it once, use it against
the API, revoke it; and read the API's docs page, served from this site under its CSP."""

import pytest
import requests
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_submit_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_makes_a_token_that_works_once_copied_and_revokes_it(
    live_server: object, owner: User, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    sign_in(page, base, owner)
    page.get_by_role("link", name="Tokens").click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.get_by_label("Name").fill("CI of the billing service")
    page.get_by_role("button", name="Make token").click()
    created = page.get_by_test_id("token-created")
    expect(created).to_contain_text("can't be shown again")
    token = page.locator("#token-value").input_value()
    assert token.startswith("adt_")
    screenshot(page, "60-api-token-created")
    me = requests.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.status_code == 200 and me.json()["user"] == owner.username

    page.goto(f"{base}/tokens/")
    expect(page.locator("#token-value")).to_have_count(0)  # shown once only
    row = page.get_by_test_id("tokens").locator("tr[data-token-state=active]")
    expect(row).to_contain_text("CI of the billing service")
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_test_id("tokens").locator("tr[data-token-state=revoked]")).to_have_count(1)
    again = requests.get(
        f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert again.status_code == 401


def test_the_docs_page_shows_the_operations_without_breaking_the_csp(
    live_server: object, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text)
            if "Content Security Policy" in message.text and "script" in message.text
            else None
        ),
    )
    page.goto(f"{base}/api/v1/docs")
    expect(page.locator(".swagger-ui")).to_be_visible()
    expect(page.get_by_text("/api/v1/diagnose").first).to_be_visible()
    screenshot(page, "61-api-docs")
    assert blocked == []


def test_the_tokens_page_fits_a_phone(live_server: object, owner: User, page: Page) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    sign_in(page, base, owner)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/tokens/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px screen"
