"""As a person would: a 401 with the key in the query string, "Try the fix", and the
follow-up run proving it (the key moved to its header)."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_submit_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_tries_the_fix_and_sees_it_proven(
    celery_worker: object, live_server: object, owner: User, page: Page
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    sign_in(page, base, owner)
    page.goto(f"{base}/runs/new/?preset=sandbox-key-in-query")
    page.get_by_role("button", name="Send request").click()

    result = page.locator("#run-result")
    expect(result).to_have_attribute("data-status", "done", timeout=30_000)
    expect(result.locator(".status-code")).to_have_text("401")
    original = page.url
    offer = page.get_by_test_id("try-fix")
    expect(offer).to_contain_text("X-Api-Key")
    screenshot(page, "40-run-fix-offered")

    # The verdict's primary action is the fix (the section below explains it).
    primary = page.get_by_test_id("verdict-actions").get_by_test_id("action-try-fix")
    expect(primary).to_have_class(re.compile(r"\bprimary\b"))
    primary.click()
    expect(page).not_to_have_url(original)
    expect(page).to_have_url(re.compile(r"/runs/[0-9a-f-]{36}/$"))
    expect(result).to_have_attribute("data-status", "done", timeout=30_000)
    expect(result.locator(".status-code")).to_have_text("200")
    applied = page.get_by_test_id("applied-fix")
    expect(applied).to_have_attribute("data-fix-state", "proven")
    expect(applied.get_by_test_id("fix-outcome")).to_contain_text(
        "proven: 200 after moving the key to X-Api-Key"
    )
    expect(applied.get_by_test_id("fix-diff")).to_contain_text("+ header X-Api-Key: [redacted]")
    expect(page.locator("body")).not_to_contain_text("sandbox-demo-key")
    screenshot(page, "41-run-fix-proven")

    page.goto(original)
    expect(page.get_by_test_id("fix-followups")).to_contain_text("proven: 200")
