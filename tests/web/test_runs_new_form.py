"""The new-request form: the preset picker (htmx and without), the error summary."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from apps.runs.models import Run
from tests.support.clients import client_for

pytestmark = pytest.mark.django_db


def test_it_fills_the_form_in_place_for_htmx_and_marks_the_preset(owner: User) -> None:
    response = client_for(owner).get(
        reverse("runs:new"), {"preset": "sandbox-no-key"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<form method="post"')  # the form alone, no page around it
    assert 'id="run-form"' in html
    assert "No API key (401)" in html and 'data-testid="active-preset"' in html
    # The team's own sandbox: /sandbox/t/<scope>/…
    assert "/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd" in html and "/sandbox/t/" in html


def test_the_picker_works_without_javascript(owner: User) -> None:
    html = client_for(owner).get(reverse("runs:new"), {"preset": "sandbox-rate-limit"}).content
    page = html.decode()
    assert '<option value="sandbox-rate-limit" selected>' in page
    assert '<noscript><button type="submit">Fill the form</button></noscript>' in page
    assert page.count('type="submit" class="primary">Send request</button>') == 1


def test_it_shows_every_error_at_once_in_a_summary_that_takes_the_focus(owner: User) -> None:
    response = client_for(owner).post(
        reverse("runs:new"),
        {
            "method": "POST",
            "url": "ftp://example.com/",
            "headers": "Content-Type: application/json\nAccept application/json",
            "body": "{not json",
            "timeout": "10",
        },
    )
    page = response.content.decode()
    summary = page[
        page.index('id="error-summary"') : page.index("</div>", page.index('id="error-summary"'))
    ]
    assert "autofocus" in summary and 'tabindex="-1"' in summary
    assert 'href="#id_url"' in summary
    assert 'href="#id_headers"' in summary
    assert 'href="#id_body"' in summary and "not valid JSON" in summary
    assert "There are 3 problems" in summary
    assert "{not json" in page  # nothing typed is lost


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_body_with_a_method_sent_without_one_is_refused_at_the_body(
    owner: User, method: str
) -> None:
    response = client_for(owner).post(
        reverse("runs:new"),
        {"method": method, "url": "https://api.example.com/v1/x", "body": "a=1", "timeout": "10"},
    )
    assert response.status_code == 200  # the form again, nothing submitted
    assert f"A {method} request is sent without a body." in response.content.decode()
    assert not Run.objects.exists()


def test_a_key_typed_as_a_header_is_sent_to_the_api_key_field(owner: User) -> None:
    response = client_for(owner).post(
        reverse("runs:new"),
        {
            "method": "GET",
            "url": "https://api.example.com/v1/x",
            "headers": "x-API-key: k-typed-0123456789",
            "timeout": "10",
        },
    )
    page = response.content.decode()
    assert "Put the key in the API key field below, which is sent as X-Api-Key" in page
    assert not Run.objects.exists()
