"""Issue 18's "Done when", for every sandbox preset: at 1280x800 the form's Send is on the
first screen, and once the real worker has sent the request to the sandbox, the run page
shows its verdict and its one fitting action without scrolling.

One signed-in page does it all: every preset is sent from its form first (the worker runs
them while the next ones are sent; the run page the form leads to is not waited for), then
each run page is checked. The first screen of each
run page is saved in artifacts/screenshots/; the 401's is the README's image
(docs/run-401-explained.png).
"""

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from apps.runs.models import Run
from apps.runs.presets import PRESETS
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_submit_flow import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREEN = {"width": 1280, "height": 800}
SANDBOX_PRESETS = [preset for preset in PRESETS if preset.sandbox]
SEND = "button:has-text('Send request')"
VERDICT = "[data-testid=verdict]"
PRIMARY = "[data-testid=verdict-actions] .primary"
RUN_URL = re.compile(r"/runs/([0-9a-f-]{36})/$")


def below_the_fold(page: Page, selector: str) -> str:
    """ "" when the element is wholly within the first screen, else what is wrong."""
    box = page.locator(selector).first.bounding_box()
    if box is None:
        return f"{selector} is not shown"
    if box["y"] < 0 or box["y"] + box["height"] > SCREEN["height"]:
        return f"{selector} at y={box['y']:.0f}..{box['y'] + box['height']:.0f} px"
    return ""


def test_every_preset_shows_send_then_its_verdict_and_action_on_the_first_screen(
    celery_worker: object,
    live_server: object,
    owner: User,
    browser: Browser,
    settings: object,
) -> None:
    settings.RATELIMIT_SUBMIT = "1000/m"  # type: ignore[attr-defined]  # one person, 30 runs
    base = live_server.url  # type: ignore[attr-defined]
    context = browser.new_context(viewport=SCREEN)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    runs: dict[str, str] = {}
    try:
        sign_in(page, base, owner)
        for preset in SANDBOX_PRESETS:
            page.goto(f"{base}{reverse('runs:new')}?preset={preset.slug}")
            expect(page.get_by_test_id("active-preset")).to_contain_text(preset.label)
            if wrong := below_the_fold(page, SEND):
                problems.append(f"{preset.slug} form: {wrong}")
            # Sent: the answer names the run's page; it is opened later, not now.
            with page.expect_response(lambda r: r.request.method == "POST") as sent:
                page.locator(SEND).click()
            location = sent.value.headers.get("location", "")
            found = RUN_URL.search(location)
            assert found, f"{preset.slug}: {sent.value.status} {location}"
            runs[preset.slug] = found.group(1)

        # A form error: the summary and Send, still on the first screen.
        page.goto(f"{base}{reverse('runs:new')}?preset=sandbox-no-key")
        page.get_by_label("URL").fill("ftp://nowhere")
        page.locator(SEND).click()
        expect(page.get_by_test_id("error-summary")).to_be_focused()
        for selector in ("[data-testid=error-summary]", SEND):
            if wrong := below_the_fold(page, selector):
                problems.append(f"form error: {wrong}")

        for slug, run_id in runs.items():
            page.goto(f"{base}{reverse('runs:detail', args=[run_id])}")
            result = page.locator("#run-result")
            expect(result).to_have_attribute("data-status", "done", timeout=60_000)
            page.evaluate("window.scrollTo(0, 0)")
            attempt = Run.objects.get(pk=run_id).attempts.order_by("number").last()
            assert attempt is not None
            needs_action = attempt.diagnosis["severity"] != "ok"
            for selector in (VERDICT, PRIMARY) if needs_action else (VERDICT,):
                if wrong := below_the_fold(page, selector):
                    problems.append(f"{slug} run page ({attempt.diagnosis['code']}): {wrong}")
            if needs_action:
                expect(page.locator(PRIMARY)).to_have_count(1)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"first-screen-{slug}.png"))
    finally:
        context.close()
    assert len(runs) == len(SANDBOX_PRESETS)
    assert not problems, "\n".join(problems)
