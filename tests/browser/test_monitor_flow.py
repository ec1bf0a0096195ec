"""As a person would: turn a run into a monitor in two clicks, watch it go down when the
sandbox's maintenance is on and come back up when it is off (real worker and beat)."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from apps.sandbox import state as sandbox_state
from tests.browser.conftest import screenshot
from tests.browser.test_submit_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OHLCV = "/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv"


def check_now_and_expect(page: Page, state: str) -> None:
    page.get_by_role("button", name="Check now").click()
    badge = page.locator("#monitor-status [data-state]")
    expect(badge).to_have_attribute("data-state", state, timeout=60_000)


def test_a_run_becomes_a_monitor_that_goes_down_and_up(
    celery_beat: object, live_server: object, owner: User, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    sign_in(page, base, owner)
    page.goto(f"{base}/runs/new/")
    page.get_by_label("URL").fill(f"{base}{OHLCV}")
    page.get_by_label("API key").fill("sandbox-demo-key")
    page.get_by_role("button", name="Send request").click()
    expect(page.locator("#run-result")).to_have_attribute("data-status", "done", timeout=30_000)

    page.get_by_test_id("monitor-this").click()  # click one
    expect(page.get_by_label("Assertions")).to_have_value("status in 200")
    page.get_by_role("button", name="Start monitoring").click()  # click two
    expect(page.get_by_role("heading", level=1)).to_have_text("GET localhost ohlcv")

    check_now_and_expect(page, "up")
    try:
        sandbox_state.set_maintenance(on=True, now=datetime.now(UTC))
        check_now_and_expect(page, "degraded")
        check_now_and_expect(page, "down")
        timeline = page.get_by_test_id("timeline")
        expect(timeline).to_contain_text("Degraded → Down")
        expect(page.get_by_test_id("checks")).to_contain_text("Status 503 is not one of 200")
        screenshot(page, "60-monitor-down")
    finally:
        sandbox_state.set_maintenance(on=False, now=datetime.now(UTC))
    check_now_and_expect(page, "up")
    expect(page.get_by_test_id("timeline")).to_contain_text("Down → Up")
    expect(page.get_by_test_id("latency-chart")).to_be_visible()
    screenshot(page, "61-monitor-up-again")
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the monitor page is {width} px wide at 390 px"
    page.set_viewport_size({"width": 1200, "height": 900})

    page.get_by_role("link", name="Monitors", exact=True).first.click()
    expect(page.get_by_test_id("monitors")).to_contain_text("Up")
