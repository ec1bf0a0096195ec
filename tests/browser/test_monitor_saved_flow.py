"""As a person would: a saved request becomes a monitor with an environment from its page
(one click to the form, the environment picked, one click to start), and the monitor's page
says what it sends and at which second its cron schedule runs; both pages pass axe and fit
a phone's width."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect

from apps.library.importers.collection import ImportedCollection, ImportedRequest
from apps.library.services import import_collection, save_environment
from apps.monitors.models import Monitor
from tests.browser.conftest import screenshot
from tests.browser.test_pages_axe import Sweep
from tests.browser.test_submit_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_saved_request_becomes_a_monitor_with_an_environment(
    live_server: object, owner: User, browser: Browser
) -> None:
    team = owner.membership_set.get().team
    imported = ImportedCollection(
        name="Kaiko",
        requests=[ImportedRequest(name="Trades", method="GET", url="https://{{host}}/v2/trades")],
    )
    saved = import_collection(team=team, user=owner, imported=imported).requests.get()
    for name, host in [("Production", "us.market-api.kaiko.io"), ("Empty", "")]:
        variables = [["host", host]] if host else []
        save_environment(team=team, user=owner, name=name, variables=variables, environment=None)
    base = live_server.url  # type: ignore[attr-defined]
    context = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    sign_in(page, base, owner)
    page.goto(f"{base}/library/requests/{saved.id}/")
    page.get_by_test_id("monitor-saved").click()

    # An environment that leaves {{host}} without a value: said at its field, focus on it.
    page.get_by_label("Environment").select_option(label="Empty")
    page.get_by_label("Or on a cron schedule (UTC)").fill("*/5 * * * *")
    page.get_by_role("button", name="Start monitoring").click()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_contain_text("No value for {{host}}")
    expect(page.get_by_label("Or on a cron schedule (UTC)")).to_have_value("*/5 * * * *")
    sweep = Sweep(page=page, width="phone", problems=[])
    page.set_viewport_size({"width": 390, "height": 844})
    sweep.audit("monitor-saved-errors")
    screenshot(page, "62-monitor-saved-errors")
    page.set_viewport_size({"width": 1200, "height": 900})

    page.get_by_label("Environment").select_option(label="Production")
    page.get_by_role("button", name="Start monitoring").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Trades")
    monitor = Monitor.objects.get()
    expect(page.get_by_test_id("schedule")).to_contain_text(
        f"runs at :{monitor.cron_offset:02d} past the minute"
    )
    expect(page.get_by_test_id("sends")).to_contain_text("with the environment Production")
    page.set_viewport_size({"width": 390, "height": 844})
    sweep.audit("monitor-saved")
    screenshot(page, "63-monitor-saved")
    context.close()
    assert not sweep.problems, "\n".join(sweep.problems)
