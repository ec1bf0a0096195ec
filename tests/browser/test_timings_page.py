"""As a person would: send a request that is redirected, with a traceparent, and read on
the run page where its time went, the id to give support, and the same on a share link."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_submit_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_shows_where_the_time_went_and_the_ids_for_support(
    celery_worker: object, live_server: object, owner: User, page: Page, browser: Browser
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    sign_in(page, base, owner)
    page.goto(f"{base}/runs/new/")
    page.get_by_label("URL").fill(f"{base}/sandbox/redirect/1")
    page.get_by_label("Follow redirects").check()
    page.get_by_label("Send a W3C traceparent").check()
    page.get_by_role("button", name="Send request").click()
    expect(page.locator("#run-result")).to_have_attribute("data-status", "done", timeout=30_000)

    waterfall = page.get_by_test_id("waterfall")
    expect(waterfall).to_be_visible()
    expect(waterfall.locator("text.bar-label")).to_have_text(
        ["Hop 1 (302)", "Hop 2 (302)", "Final (200)"]
    )
    table = page.get_by_test_id("phase-table")
    expect(table.locator("tr[data-phase=wait] td")).to_have_count(3)
    expect(table).to_contain_text("reused")
    ids = page.get_by_test_id("request-ids")
    expect(ids).to_contain_text("Give this to the provider's support")
    expect(ids).to_contain_text(re.compile(r"traceparent sent\s*00-[0-9a-f]{32}-[0-9a-f]{16}-01"))
    expect(page.get_by_test_id("connection-facts")).to_contain_text("HTTP/1.1")
    screenshot(page, "60-run-timings")

    page.set_viewport_size({"width": 390, "height": 844})
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, f"the run page is {scroll_width}px wide on a 390px screen"
    screenshot(page, "61-run-timings-phone")
    page.set_viewport_size({"width": 1200, "height": 900})

    panel = page.locator("#share-panel")
    panel.get_by_role("button", name="Create share link").click()
    link = page.locator("#share-url").input_value()
    stranger = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        shared = stranger.new_page()
        shared.goto(link)
        expect(shared.get_by_test_id("waterfall")).to_be_visible()
        expect(shared.get_by_test_id("request-ids")).to_contain_text("traceparent sent")
        screenshot(shared, "62-shared-timings")
    finally:
        stranger.close()


def test_it_shows_the_certificate_an_expired_server_presented(
    celery_worker: object, live_server: object, sandbox_tls: object, owner: User, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    port = sandbox_tls.ports["expired"]  # type: ignore[attr-defined]
    sign_in(page, base, owner)
    page.goto(f"{base}/runs/new/")
    page.get_by_label("URL").fill(f"https://localhost:{port}/")
    page.get_by_role("button", name="Send request").click()
    expect(page.locator("#run-result")).to_have_attribute("data-status", "done", timeout=30_000)
    expect(page.get_by_test_id("causes")).to_contain_text(re.compile(r"expired on \d{4}-\d\d-\d\d"))
    tls = page.get_by_test_id("tls-facts")
    expect(tls).to_contain_text("second handshake")
    expect(tls.get_by_test_id("certificate").first).to_contain_text("expired")
    expect(page.get_by_test_id("phase-table")).to_contain_text("stopped in tls")
    screenshot(page, "63-expired-certificate")
