"""As a person would: share a 401 by link, open the link where nobody is signed in, see the
verdict and what to do first, and no key; revoke the link, and see it stop working."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from apps.accounts.models import Team
from apps.egress.redaction import secret_forms
from apps.runs import secrets
from apps.runs.models import Run
from apps.sharing import services as sharing_services
from tests.browser.conftest import screenshot
from tests.browser.test_submit_flow import sign_in
from tests.support.factories import finished_run
from tests.support.leaks import leaked_forms
from tests.support.upstream import key_encodings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OHLCV = "/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv"
KEY = "KSECRET-browser-0001-not-a-real-key"


def test_it_shares_a_run_by_link_and_revokes_it(
    celery_worker: object, live_server: object, owner: User, page: Page, browser: Browser
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    sign_in(page, base, owner)
    page.goto(f"{base}/runs/new/")
    page.get_by_label("URL").fill(f"{base}{OHLCV}?api_key={KEY}")
    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Send request").click()
    result = page.locator("#run-result")
    expect(result).to_have_attribute("data-status", "done", timeout=30_000)

    # Two clicks: create (anyone with the link, 7 days by default), copy.
    panel = page.locator("#share-panel")
    expect(panel.get_by_label("Anyone with the link")).to_be_checked()
    expect(panel.get_by_label("Link works for")).to_have_value("7d")
    panel.get_by_role("button", name="Create share link").click()
    link_field = page.locator("#share-url")
    expect(link_field).to_be_visible()
    link = link_field.input_value()
    assert link.startswith(f"{base}/s/")
    expect(panel).to_contain_text("can't be shown again")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    panel.get_by_role("button", name="Copy link").click()
    copy = panel.locator("button[data-copy=share-url]")  # its name changes when clicked
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == link
    expect(page.get_by_test_id("share-links").locator("tr[data-link-state=active]")).to_have_count(
        1
    )
    screenshot(page, "40-share-link-created")

    # A fresh browser context: no session, no cookies.
    stranger = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        shared = stranger.new_page()
        shared.set_default_timeout(20_000)
        response = shared.goto(link)
        assert response is not None and response.status == 200
        assert response.headers["referrer-policy"] == "no-referrer"
        # The verdict first, as on the run page, and what to do in words: no buttons.
        verdict = shared.get_by_test_id("verdict")
        expect(verdict.locator(".verdict-title")).to_be_visible()
        expect(verdict.locator(".status-code")).to_have_text("401")
        expect(verdict.get_by_test_id("verdict-advice")).to_be_in_viewport(ratio=1)
        expect(verdict.get_by_role("button")).to_have_count(0)
        expect(shared.get_by_test_id("verdict-actions")).to_have_count(0)
        expect(shared.get_by_test_id("redaction-note")).to_contain_text("X-Api-Key")
        expect(shared.get_by_test_id("curl")).to_contain_text('"$API_KEY"')
        expect(shared.get_by_role("button", name="Copy as cURL")).to_be_visible()
        expect(shared.get_by_role("link", name="Sign in")).to_be_visible()  # not signed in
        assert KEY not in shared.content()
        screenshot(shared, "41-shared-page")

        # Revoked in the first context, the link stops working in the other.
        page.reload()
        panel = page.locator("#share-panel")
        panel.get_by_role("button", name="Revoke").click()
        expect(
            page.get_by_test_id("share-links").locator("tr[data-link-state=revoked]")
        ).to_have_count(1)
        response = shared.reload()
        assert response is not None and response.status == 404
        expect(
            shared.get_by_role("heading", name="This link does not open anything")
        ).to_be_visible()
        assert KEY not in shared.content()
        screenshot(shared, "42-shared-link-revoked")
    finally:
        stranger.close()


def test_a_shared_page_shows_no_encoding_of_an_echoed_key(
    live_server: object, team: Team, owner: User, browser: Browser
) -> None:
    """Issue 13, row 7: the key echoed as hex, base32, every byte percent-encoded, JSON
    escapes, HTML entities or HTTP Basic was shown on the public share page."""
    key = "KSECRET-browser-0002-echoed"
    encodings = key_encodings(key)
    escaped = "".join(f"\\u{ord(char):04x}" for char in key)
    echo = json.dumps(encodings)[:-1] + f', "json_escapes": "{escaped}"}}'
    run = finished_run(
        team,
        owner,
        response_status=401,
        response_body=echo,
        response_headers=[
            ["Content-Type", "application/json"],
            ["X-Echo-Hex", encodings["HEX"]],
            ["WWW-Authenticate", f'Basic realm="{encodings["basic"]}"'],
        ],
    )
    Run.objects.filter(pk=run.pk).update(
        secrets_encrypted=secrets.encrypt(secrets.RunSecrets(api_key=key)), has_api_key=True
    )
    _, token = sharing_services.create_link(
        run=run, created_by=owner, visibility="public", lifetime=timedelta(hours=1)
    )
    base = live_server.url  # type: ignore[attr-defined]
    stranger = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        shared = stranger.new_page()
        response = shared.goto(f"{base}/s/{token}")
        assert response is not None and response.status == 200
        expect(shared.get_by_test_id("redaction-note")).to_be_visible()
        seen = shared.content() + shared.locator("body").inner_text()
        assert "[redacted]" in seen
        forms = sorted({*secret_forms([key]), *encodings.values()})
        assert leaked_forms(seen, forms) == []
        screenshot(shared, "43-share-page-echoed-key")
    finally:
        stranger.close()
