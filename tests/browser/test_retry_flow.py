"""As a person would: a 429, "Retry with backoff", and the attempts timeline filling in
without reloading the page."""

import re
import uuid

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_submit_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OHLCV = "/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv"


def test_it_retries_a_429_with_backoff_and_fills_the_timeline_live(
    celery_worker: object, live_server: object, owner: User, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    sign_in(page, base, owner)
    page.goto(f"{base}/runs/new/")
    page.get_by_label("URL").fill(f"{base}{OHLCV}")
    page.get_by_label("Headers").fill(
        f"Accept: application/json\nX-Sandbox-Scenario: fail-first=1:429;id={uuid.uuid4()}"
    )
    page.get_by_label("API key").fill("sandbox-demo-key")
    page.get_by_role("button", name="Send request").click()

    result = page.locator("#run-result")
    expect(result).to_have_attribute("data-status", "done", timeout=30_000)
    expect(result.locator(".status-code")).to_have_text("429")
    screenshot(page, "10-run-429")

    # The verdict's one primary action: retry when the server said it would work.
    primary = result.get_by_test_id("verdict-actions").locator(".primary")
    expect(primary).to_have_count(1)
    # "Retry at HH:MM" while the server's wait (Retry-After: 1) runs, "Retry now" after it.
    expect(primary).to_have_text(re.compile(r"^Retry (at \d\d:\d\d|now)"))
    expect(result.get_by_role("link", name="Re-authenticate")).to_have_count(0)
    reason = "Retry with backoff" if primary.inner_text().startswith("Retry at") else "by hand"
    primary.click()
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]{36}/$"))
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator("li")).to_have_count(2, timeout=30_000)
    expect(result).to_have_attribute("data-status", "done", timeout=30_000)
    expect(timeline.locator("li").nth(1)).to_contain_text("200")
    expect(timeline.locator("li").nth(1)).to_contain_text(reason)
    expect(result.locator(".status-code")).to_have_text("200")
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "11-run-retried-timeline")
