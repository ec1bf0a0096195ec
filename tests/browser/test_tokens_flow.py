"""As a person would: make an API token on the Tokens page, copy it once, use it against
the API, revoke it; read the API's docs page, served from this site under its CSP; and
diagnose a HAR that Chromium itself recorded."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from apps.accounts.models import Team
from tests.api.conftest import make_token
from tests.browser.conftest import screenshot
from tests.browser.test_submit_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OHLCV = "/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv"


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


def test_a_har_recorded_by_chromium_is_diagnosed_as_recorded(
    live_server: object, owner: User, team: Team, browser: Browser, tmp_path: Path
) -> None:
    """Chromium itself records the sandbox's 401 (Playwright's record_har); apidiag
    diagnoses the file without sending anything and finds what the dashboard would."""
    base = live_server.url  # type: ignore[attr-defined]
    har = tmp_path / "chromium.har"
    context = browser.new_context(record_har_path=str(har), record_har_content="embed")
    page = context.new_page()
    response = page.goto(f"{base}{OHLCV}?interval=1d")
    assert response is not None and response.status == 401
    context.close()  # writes the HAR
    entries = json.loads(har.read_text())["log"]["entries"]
    assert any(entry["response"]["status"] == 401 for entry in entries)

    env = {**os.environ, "APIDIAG_URL": base, "APIDIAG_TOKEN": make_token(owner, team)}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("apidiag")), "diagnose", "--har", str(har), "--json"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # a 4xx, the worst of the entries
    runs = json.loads(done.stdout)
    codes = {run["request"]["url"].split("?")[0]: run["diagnosis"]["code"] for run in runs}
    assert codes[f"{base}{OHLCV}"] == "kaiko.401.no_key"
    assert all(run["recorded"] for run in runs)
