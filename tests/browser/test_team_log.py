"""As a person would: filter the team log by result, see only matching rows, see a new run
come in without reloading, follow a row to its run."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from apps.accounts.models import Team
from apps.runs.models import Run
from tests.browser.conftest import screenshot
from tests.browser.test_submit_flow import sign_in
from tests.support.factories import finished_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def logged(team: Team, user: User, name: str, status: int, title: str) -> Run:
    run = finished_run(
        team,
        user,
        run={"url": f"https://us.market-api.kaiko.io/v2/{name}"},
        response_status=status,
        diagnosis={"code": f"kaiko.{status}", "severity": "error", "title": title},
    )
    Run.objects.filter(pk=run.pk).update(diagnosis_code=f"kaiko.{status}", duration_ms=25)
    return run


def test_it_filters_the_log_shows_new_runs_live_and_leads_to_a_run(
    live_server: object, team: Team, owner: User, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    logged(team, owner, "fine", 200, "Success")
    unauthorized = logged(team, owner, "no-key", 401, "API key missing")
    logged(team, owner, "broken", 500, "Kaiko had an internal error")
    sign_in(page, base, owner)
    rows = page.locator("#log-rows tr")
    expect(rows).to_have_count(3)

    page.get_by_label("Result").select_option("4xx")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"/\?class=4xx"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("API key missing")
    expect(page.get_by_label("Result", exact=True)).to_have_value("4xx")
    screenshot(page, "40-log-filtered")

    # New runs while the page is open: the matching one comes in at the top, the other not.
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    logged(team, owner, "also-fine", 200, "Success")
    newer = logged(team, owner, "forbidden", 403, "No access to this resource")
    expect(rows).to_have_count(2, timeout=15_000)
    expect(rows.first).to_have_attribute("id", f"run-{newer.id}")
    expect(rows.first).to_contain_text("No access to this resource")
    expect(page.locator("#log-rows")).not_to_contain_text("also-fine")
    assert page.evaluate("window.__sameDocument") is True
    # Its time is shown in the viewer's zone, UTC on hover, like the rows of the page.
    expect(rows.first.locator("time")).to_have_attribute("data-local", "1")
    screenshot(page, "41-log-live-row")

    page.locator(f"#run-{unauthorized.id} td.log-when a").click()
    expect(page).to_have_url(f"{base}/runs/{unauthorized.id}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("us.market-api.kaiko.io")


def test_it_fits_the_filter_bar_on_a_phone(
    live_server: object, team: Team, owner: User, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    logged(team, owner, "no-key", 401, "API key missing")
    sign_in(page, base, owner)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/?status=abc&member=alice")
    expect(page.get_by_text("Enter a whole number.")).to_be_visible()
    expect(page.get_by_label("Status", exact=True)).to_have_value("abc")  # kept as typed
    expect(page.locator("#log-rows tr")).to_have_count(1)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, f"the page is {scroll_width}px wide on a 390px screen"
    screenshot(page, "42-log-phone")
