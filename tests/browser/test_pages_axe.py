"""Every page, at desktop and phone width, signed in and on the share page, with data and
empty: axe-core reports no violation, nothing scrolls sideways, and what must be seen first
(the run's verdict and its action, the form's Send) is visible without scrolling.

axe-core comes from npm (tests/browser/axe, installed by `make test`) and is injected by
Playwright; the test browser alone ignores the site's Content-Security-Policy to let it in.
One browser context per width walks all the pages, to keep this layer's run time low; the
phone one asks for the dark colour scheme, so both themes are checked.
"""

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from apps.accounts.models import Membership, Team
from apps.accounts.services import create_invite, create_team
from apps.sharing.models import ShareLink
from apps.sharing.services import create_link
from tests.browser.conftest import screenshot
from tests.browser.test_submit_flow import sign_in
from tests.support.exchanges import run_of_exchange
from tests.support.factories import add_attempt, make_run
from tests.unit.test_diagnosis_diagnose_exchanges import FIXTURES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PRIMARY = "[data-testid=verdict-actions] .primary"
WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# The run pages of these recorded exchanges, with the label of their primary action.
RUNS = {
    "sandbox-kaiko-200": "",
    "sandbox-kaiko-401-no-key": "Re-authenticate",
    "sandbox-kaiko-403-no-entitlement": "Request access",
    "sandbox-kaiko-429-burst": "Retry",  # at HH:MM (30 s after it), then now
    "sandbox-kaiko-503-maintenance": "Retry",
    "network-tls-certificate-expired": "Check the certificate",
    "network-connection-refused": "Retry now",
}


# The outermost elements that stick out of the viewport on the right: what to fix.
WIDEST = """() => {
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.right > innerWidth + 1 && !out.some(o => o.contains(el))) out.push(el);
  }
  return out.slice(0, 4).map(el => el.tagName.toLowerCase() + "." + [...el.classList].join(".")
    + " " + Math.round(el.getBoundingClientRect().right) + "px");
}"""


@dataclass
class Sweep:
    page: Page
    width: str
    problems: list[str]

    def check(self, url: str, name: str, *, first_seen: str = "") -> None:
        """Open the page and check it; `first_seen`: a selector that must be visible
        without scrolling."""
        response = self.page.goto(url)
        assert response is not None and response.status < 500, f"{name}: {response}"
        self.page.wait_for_load_state("load")
        if first_seen:
            box = self.page.locator(first_seen).first.bounding_box()
            height = WIDTHS[self.width]["height"]
            if box is None or box["y"] + box["height"] > height:
                self.problems.append(
                    f"{name} @ {self.width}: {first_seen} not in the first {height} px ({box})"
                )
        screenshot(self.page, f"page-{self.width}-{name}")
        self.audit(name)

    def audit(self, name: str) -> None:
        # Folded parts count too: open them for the audit.
        self.page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        scroll = self.page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        if scroll[0] > scroll[1]:
            widest = self.page.evaluate(WIDEST)
            self.problems.append(
                f"{name} @ {self.width}: scrolls sideways ({scroll[0]} > {scroll[1]} px): {widest}"
            )
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.add_script_tag(path=str(AXE))
        violations = self.page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
                 .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3)
                   .map(n => n.target.join(" ") + " " + (n.failureSummary || "").slice(0, 99))}))"""
        )
        for violation in violations:
            self.problems.append(f"{name} @ {self.width}: axe {json.dumps(violation)}")


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_page_passes_axe_fits_the_screen_and_shows_what_matters_first(
    live_server: object, owner: User, team: Team, browser: Browser, width: str
) -> None:
    assert AXE.exists(), (
        "axe-core is missing: `make test` installs it (npm ci in tests/browser/axe)"
    )
    base = live_server.url  # type: ignore[attr-defined]
    runs = {name: run_of_exchange(team, owner, name) for name in RUNS}
    # A second run of the same request, for the comparison.
    again = run_of_exchange(team, owner, "sandbox-kaiko-401-no-key")
    _link, token = create_link(
        run=runs["sandbox-kaiko-401-no-key"],
        created_by=owner,
        visibility=ShareLink.Visibility.PUBLIC,
        lifetime=timedelta(days=1),
    )
    _invite, invite_token = create_invite(team=team, created_by=owner, lifetime=timedelta(days=1))
    empty = create_team(
        name="Empty team", owner=User.objects.create_user("newcomer", password="x")
    ).team

    # The phone walk is in dark mode (the system's choice): its colours pass axe too.
    context = browser.new_context(
        viewport=WIDTHS[width],  # type: ignore[arg-type]
        bypass_csp=True,
        color_scheme="dark" if width == "phone" else "light",
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    sweep = Sweep(page=page, width=width, problems=[])
    try:
        # Signed out: sign-in, the share page, an invite link.
        sweep.check(f"{base}/accounts/login/", "login")
        sweep.check(f"{base}/s/{token}", "shared-run")
        sweep.check(f"{base}{reverse('accounts:join', args=[invite_token])}", "join-signed-out")
        sweep.check(f"{base}/help/", "help")
        sweep.check(f"{base}/help/playbooks/reauthenticate/", "playbook")
        sweep.check(f"{base}/sandbox/", "sandbox")

        sign_in(page, base, owner)
        sweep.check(f"{base}/", "log")
        sweep.check(f"{base}/?class=4xx", "log-filtered")
        sweep.check(f"{base}/?q=nothing-matches-this", "log-no-match")
        sweep.check(
            f"{base}/runs/new/", "new-request", first_seen="button:has-text('Send request')"
        )
        sweep.check(
            f"{base}/runs/new/?preset=sandbox-no-key",
            "new-request-preset",
            first_seen="button:has-text('Send request')",
        )
        page.get_by_label("URL").fill("ftp://nowhere")
        page.get_by_label("Headers").fill("Content-Type: application/json\nbroken line")
        page.get_by_label("Body").fill("{not json")
        page.get_by_label("Method").select_option("POST")
        page.get_by_role("button", name="Send request").click()
        expect(page.get_by_test_id("error-summary")).to_be_focused()
        sweep.audit("new-request-errors")
        screenshot(page, f"page-{width}-new-request-errors")
        for name, run in runs.items():
            sweep.check(
                f"{base}{reverse('runs:detail', args=[run.id])}",
                f"run-{name}",
                first_seen=PRIMARY if RUNS[name] else ".verdict h2",
            )
            if RUNS[name]:
                expect(page.locator(PRIMARY)).to_contain_text(RUNS[name])
        if width == "desktop":
            # Every other recorded sandbox answer: its verdict and action on the first screen.
            others = [*FIXTURES.glob("sandbox-*.json"), *FIXTURES.glob("network-tls-*.json")]
            for path in sorted(others):
                if path.stem in RUNS:
                    continue
                run = run_of_exchange(team, owner, path.stem)
                ok = run.attempts.get().diagnosis["severity"] == "ok"
                sweep.check(
                    f"{base}{reverse('runs:detail', args=[run.id])}",
                    f"run-{path.stem}",
                    first_seen=".verdict h2" if ok else PRIMARY,
                )
        first_401 = runs["sandbox-kaiko-401-no-key"]
        sweep.check(f"{base}{reverse('runs:compare', args=[again.id, first_401.id])}", "compare")
        queued = add_attempt(make_run(team, owner)).run
        sweep.check(f"{base}{reverse('runs:detail', args=[queued.id])}", "run-queued")
        sweep.check(
            f"{base}{reverse('runs:reauthenticate', args=[first_401.id])}", "reauthenticate"
        )
        sweep.check(f"{base}{reverse('runs:trends')}", "trends")
        sweep.check(f"{base}{reverse('accounts:teams')}", "teams")
        sweep.check(f"{base}{reverse('accounts:team', args=[team.id])}", "team")
        page.get_by_role("button", name="Create invite link").click()
        expect(page.locator("#invite-link")).to_be_visible()
        sweep.audit("invite-created")
        screenshot(page, f"page-{width}-invite-created")
        sweep.check(f"{base}{reverse('library:profiles')}", "profiles")
        sweep.check(f"{base}{reverse('password_change')}", "password-change")
        # Tokens, monitors and alert channels, collections, environments, the vault.
        sweep.check(f"{base}{reverse('api_tokens:list')}", "tokens")
        sweep.check(f"{base}{reverse('monitors:new', args=[first_401.id])}", "monitor-new")
        sweep.check(f"{base}{reverse('monitors:list')}", "monitors")
        sweep.check(f"{base}{reverse('monitors:channels')}", "channels")
        sweep.check(f"{base}{reverse('saved:collections')}", "collections")
        sweep.check(f"{base}{reverse('saved:har')}", "har-import")
        sweep.check(f"{base}{reverse('saved:environments')}", "environments")
        sweep.check(f"{base}{reverse('vault:vault')}", "vault")

        # A new team's first page, and its empty trends.
        Membership.objects.create(team=empty, user=owner, role=Membership.Role.OWNER)
        page.goto(f"{base}/")
        page.get_by_label("Current team").select_option(label="Empty team")
        page.get_by_role("button", name="Switch team").click()
        expect(page.get_by_test_id("try-this")).to_be_visible()
        sweep.audit("log-empty")
        screenshot(page, f"page-{width}-log-empty")
        sweep.check(f"{base}{reverse('runs:trends')}", "trends-empty")
    finally:
        context.close()
    assert not sweep.problems, "\n".join(sweep.problems)
