"""The run page opens with the verdict: one fitting primary action, never one that cannot help."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from apps.accounts.models import Team
from tests.support.clients import client_for
from tests.support.exchanges import run_of_exchange

pytestmark = pytest.mark.django_db


def verdict_of(html: str) -> str:
    start = html.index('data-testid="verdict"')
    return html[start : html.index("</section>", start)]


@pytest.mark.parametrize(
    ("name", "primary", "absent"),
    [
        ("sandbox-kaiko-200", None, "Re-authenticate"),
        ("sandbox-kaiko-401-no-key", 'class="button primary" href="/runs/', "Retry at"),
        ("network-tls-certificate-expired", "Check the certificate", "Re-authenticate"),
        ("network-connection-refused", 'class="primary">Retry now', "Re-authenticate"),
    ],
)
def test_the_verdict_comes_first_with_the_action_that_fits(
    team: Team, owner: User, name: str, primary: str | None, absent: str
) -> None:
    run = run_of_exchange(team, owner, name)
    html = client_for(owner).get(reverse("runs:detail", args=[run.id])).content.decode()
    verdict = verdict_of(html)
    assert html.index('data-testid="verdict"') < html.index('data-testid="why"')
    assert absent not in verdict
    if primary is None:
        assert 'class="primary"' not in verdict and "button primary" not in verdict
    else:
        assert primary in verdict
        assert verdict.count("primary") == 1 + verdict.count('class="primary">Send with this key')


def test_the_certificate_action_leads_to_its_playbook_and_back(team: Team, owner: User) -> None:
    run = run_of_exchange(team, owner, "network-tls-certificate-expired")
    verdict = verdict_of(
        client_for(owner).get(reverse("runs:detail", args=[run.id])).content.decode()
    )
    assert f'href="/help/playbooks/check-tls/?run={run.id}"' in verdict


def test_the_why_section_says_no_sentence_of_the_verdict_again(team: Team, owner: User) -> None:
    run = run_of_exchange(team, owner, "network-connection-refused")
    html = client_for(owner).get(reverse("runs:detail", args=[run.id])).content.decode()
    why = html[html.index('data-testid="why"') :]
    why = why[: why.index("</details>")]
    assert "What went wrong" not in why  # the failure is the verdict's sentence
    assert 'class="diagnosis-title' not in why  # so is the title


def test_a_sustained_429_gives_one_coherent_advice(team: Team, owner: User) -> None:
    run = run_of_exchange(team, owner, "sandbox-kaiko-429-sustained")
    html = client_for(owner).get(reverse("runs:detail", args=[run.id])).content.decode()
    why = html[html.index('data-testid="why"') :]
    why = why[: why.index("</details>")]
    assert "Retrying will keep failing until fewer requests are sent" in why
    assert "Retrying can help" not in why  # the cause says otherwise
    assert "Retry at" in verdict_of(html) or "Retry now" in verdict_of(html)
