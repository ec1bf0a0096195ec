"""Pasting a cURL command or a raw HTTP request fills the new-request form: never sent by
itself, the key in the key field, what cannot be honoured said, bad pastes answered at the
field."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from apps.runs.models import Run
from tests.support.clients import client_for

pytestmark = pytest.mark.django_db
IMPORT = reverse("saved:import")
KAIKO = "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges/cbse/spot/btc-usd"


def test_it_fills_the_form_from_a_curl_command_and_sends_nothing(owner: User) -> None:
    command = (
        f"curl -k --compressed -H 'Accept: application/json' -H 'X-Api-Key: k-123-secret' "
        f"-m 7 --trace-ascii out.txt '{KAIKO}?page_size=5'"
    )
    response = client_for(owner).post(IMPORT, {"text": command})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["url"] == f"{KAIKO}?page_size=5"
    assert form.initial["headers"] == "Accept: application/json"
    assert form.initial["api_key"] == "k-123-secret"
    assert form.initial["timeout"] == 7
    page = response.content.decode()
    assert "-k/--insecure is not honoured" in page
    assert "--trace-ascii" in page
    assert f'value="{KAIKO}?page_size=5"' in page
    assert Run.objects.count() == 0


def test_it_fills_the_form_from_a_raw_http_request(owner: User) -> None:
    raw = (
        "POST /v2/orders HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\n"
        'Content-Length: 11\r\n\r\n{"a": true}'
    )
    response = client_for(owner).post(IMPORT, {"text": raw})
    form = response.context["form"]
    assert (form.initial["method"], form.initial["url"]) == (
        "POST",
        "https://api.example.com/v2/orders",
    )
    assert form.initial["headers"] == "Content-Type: application/json"
    assert form.initial["body"] == '{"a": true}'
    assert "Content-Length" in response.content.decode()  # named as left out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("curl 'https://x.example.com", "A single quote (&#x27;) is not closed."),
        ("wget https://x.example.com", "This is not a cURL command"),
        ("GET /v2/x HTTP/1.1\nAccept: */*\n", "there is no Host header"),
        ("GET /v2/x HTTP/1.1\nHost x\n", "Line 2 is not a header"),
        ("   ", "Paste a cURL command or a raw HTTP request."),
    ],
)
def test_it_answers_a_bad_paste_at_its_field(owner: User, text: str, message: str) -> None:
    response = client_for(owner).post(IMPORT, {"text": text})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'id="paste-request-error"' in page
    assert Run.objects.count() == 0


def test_the_new_request_page_has_the_paste_box(owner: User) -> None:
    page = client_for(owner).get(reverse("runs:new")).content.decode()
    assert f'action="{IMPORT}"' in page


def test_it_asks_anonymous_people_to_sign_in() -> None:
    response = client_for(None).post(IMPORT, {"text": "curl https://x.example.com"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
