"""As a person would, with SIGNUP_OPEN on: from the sign-in page to "Create an account",
every mistake shown at once with the focus on the summary, then an account and a team of
one's own. At desktop and phone width, the pages pass axe and do not scroll sideways."""

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect

from apps.accounts.models import Membership
from tests.browser.conftest import screenshot
from tests.browser.test_pages_axe import AXE, WIDTHS, Sweep

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough pass phrase 42"


@pytest.mark.parametrize("width", list(WIDTHS))
def test_someone_creates_an_account_and_their_team(
    live_server: object, browser: Browser, settings: object, width: str
) -> None:
    assert AXE.exists(), "axe-core is missing: `make test` installs it"
    settings.SIGNUP_OPEN = True  # type: ignore[attr-defined]
    base = live_server.url  # type: ignore[attr-defined]
    context = browser.new_context(
        viewport=WIDTHS[width],  # type: ignore[arg-type]
        bypass_csp=True,  # for axe only
        color_scheme="dark" if width == "phone" else "light",
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    sweep = Sweep(page=page, width=width, problems=[])
    try:
        sweep.check(f"{base}/accounts/login/", "login-signup-open")
        page.get_by_role("link", name="Create an account").click()
        expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
        sweep.check(page.url, "signup", first_seen="button:has-text('Create account')")

        page.get_by_label("Username").fill("newbie")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password confirmation").fill("something else")
        page.get_by_role("button", name="Create account").click()
        summary = page.get_by_test_id("error-summary")
        expect(summary).to_be_focused()
        expect(summary).to_be_in_viewport()
        expect(summary.get_by_role("link")).to_have_count(2)  # the confirmation, the team
        expect(page.get_by_label("Username")).to_have_value("newbie")
        sweep.audit("signup-errors")
        screenshot(page, f"page-{width}-signup-errors")

        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password confirmation").fill(PASSWORD)
        page.get_by_label("Your team's name").fill("Newbie's team")
        page.get_by_label("Your team's name").press("Enter")
        expect(page.get_by_role("heading", name="Recent runs of Newbie's team")).to_be_visible()
        expect(page.get_by_test_id("try-this")).to_be_visible()
    finally:
        context.close()
    assert not sweep.problems, "\n".join(sweep.problems)
    membership = Membership.objects.get(user=User.objects.get(username="newbie"))
    assert membership.is_owner and membership.team.name == "Newbie's team"
