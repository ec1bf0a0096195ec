"""The reusable include diagnosis/_diagnosis.html, from a Diagnosis or its stored dict."""

import json
import re

import pytest
from django.template.loader import render_to_string

from apps.diagnosis.diagnose import diagnose
from apps.diagnosis.lookups import get_profile
from apps.diagnosis.results import Diagnosis
from apps.egress.types import Exchange, Failure, FailureKind, Response

URL = "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades"


def kaiko_diagnosis(
    status: int, message: str, headers: list[tuple[str, str]] | None = None
) -> Diagnosis:
    body = json.dumps({"result": "error", "message": message}).encode()
    response = Response(
        status=status,
        reason="",
        headers=[("Content-Type", "application/json"), *(headers or [])],
        body=body,
        truncated=False,
    )
    exchange = Exchange("GET", URL, [("X-Api-Key", "k-123456")], response, None, 10.0)
    return diagnose(exchange, get_profile("kaiko"))


def render(diagnosis: object) -> str:
    return render_to_string("diagnosis/_diagnosis.html", {"diagnosis": diagnosis})


@pytest.mark.parametrize("stored", [False, True])
def test_it_renders_kaikos_words_and_links_to_the_playbooks(stored: bool) -> None:
    diagnosis = kaiko_diagnosis(401, "bad key")
    given = (
        Diagnosis.from_dict(json.loads(json.dumps(diagnosis.to_dict()))) if stored else diagnosis
    )
    html = render(given)
    assert '<span class="badge error">Error</span>' in html
    assert "The API key was sent but not accepted" in html
    assert "Kaiko says:" in html
    assert re.search(
        r"<blockquote[^>]*>Unauthorized -- You are not authenticated properly\."
        r" See Authentication\.</blockquote>",
        html,
    )
    assert "bad key" in html
    assert "HTTP says:" in html and "RFC 9110 §15.5.2" in html
    assert "<code>X-Api-Key: &lt;your key&gt;</code>" in html
    links = re.findall(r'<a href="([^"]+)" data-testid="playbook-link">([^<]+)</a>', html)
    # The top cause's playbook, then the diagnosis's own list.
    assert links == [("/help/playbooks/reauthenticate/", "Re-authenticate")] * 2


def test_it_renders_the_stored_dict_itself() -> None:
    html = render(kaiko_diagnosis(403, "no access").to_dict())
    assert "Kaiko says:" in html
    assert 'data-testid="playbook-link"' in html


def test_it_escapes_the_message_from_the_response() -> None:
    html = render(kaiko_diagnosis(400, "<script>alert(1)</script> `x`"))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; `x`" in html


def test_it_shows_how_long_to_wait() -> None:
    html = render(kaiko_diagnosis(429, "slow down", [("Retry-After", "90")]))
    assert "Wait 1 min 30 s first (Retry-After)." in html
    assert '<dd data-testid="wait">1 min 30 s (Retry-After)</dd>' in html
    assert '<span class="badge warning">Warning</span>' in html


def test_it_renders_a_network_failure() -> None:
    exchange = Exchange(
        "GET",
        URL,
        [],
        None,
        Failure(FailureKind.DNS, "Name or service not known", "no_such_host"),
        2.0,
    )
    html = render(diagnose(exchange, get_profile("kaiko")))
    assert "The host name does not exist" in html
    assert '<code data-testid="diagnosis-code">network.dns.no_such_host</code>' in html
    assert 'data-cause-code="network.dns.no_such_host"' in html
    assert "Name or service not known" in html
    assert "says:" not in html
    assert 'href="/help/playbooks/check-dns/" data-testid="playbook-link"' in html


def test_it_survives_an_old_dict_with_a_removed_playbook() -> None:
    html = render({"code": "kaiko.999", "severity": "error", "title": "Old", "playbooks": ["gone"]})
    assert "Old" in html
    assert "gone" in html
    assert 'data-testid="playbook-link"' not in html


@pytest.mark.parametrize("stored", [False, True])
def test_it_shows_the_change_that_fixes_a_cause(stored: bool) -> None:
    response = Response(
        status=401,
        reason="",
        headers=[("Content-Type", "application/json")],
        body=b'{"result": "error", "message": "Unauthorized"}',
        truncated=False,
    )
    exchange = Exchange("GET", URL + "?api_key=k-1234567890", [], response, None, 10.0)
    diagnosis = diagnose(exchange, get_profile("kaiko"))
    shown = diagnosis.to_dict() if stored else diagnosis
    html = render_to_string("diagnosis/_diagnosis.html", {"diagnosis": shown})
    assert 'data-testid="cause-fix"' in html
    assert "<code>X-Api-Key</code>" in html
    assert "k-1234567890" not in html
