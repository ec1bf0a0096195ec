"""The share page's second redaction: by name and by value, in every form a value takes,
and a note that names kinds and places, never values."""

import base64
import json
from urllib.parse import quote

from hypothesis import assume, given
from hypothesis import strategies as st

from apps.sharing.presentation import Redactor

KEY = 'k3y/with+odd=chars&"quote'
R = "[redacted]"


def redactor() -> Redactor:
    return Redactor.for_secrets([KEY])


def test_it_removes_the_value_in_its_encoded_forms() -> None:
    encoded = base64.b64encode(KEY.encode()).decode()
    for text in (
        f"plain {KEY} end",
        f"b64 {encoded} end",
        f"b64 {encoded.rstrip('=')} end",
        f"url {quote(KEY, safe='')} end",
        f"json {json.dumps(KEY)} end",
    ):
        cleaned = redactor().value(text)
        assert KEY not in cleaned and encoded.rstrip("=") not in cleaned
        assert quote(KEY, safe="") not in cleaned
        assert R in cleaned


def test_it_finds_a_value_escaped_inside_a_json_body() -> None:
    body = json.dumps({"echo": KEY, "nested": [{"x": KEY}]}, ensure_ascii=True)
    body = body.replace("k3y", "\\u006b3y")  # escaped as an upstream might
    r = redactor()
    cleaned = r.body(body, "application/json", "response body")
    assert KEY not in json.dumps(json.loads(cleaned), ensure_ascii=False)
    assert r.counts == {"response body": 2}


def test_it_removes_secret_named_keys_of_json_and_form_bodies() -> None:
    r = Redactor.for_secrets([])
    cleaned = r.body(
        '{"access_token": "t-1", "X-Api-Key": "k-2", "page": 1, "password": ""}',
        "application/json",
        "response body",
    )
    assert json.loads(cleaned) == {
        "access_token": R,
        "X-Api-Key": R,
        "page": 1,
        "password": "",
    }
    form = r.body(
        "user=ann&password=hunter22&page=2", "application/x-www-form-urlencoded", "request body"
    )
    assert form == "user=ann&password=[redacted]&page=2"
    assert r.note() == [
        "response body key access_token",
        "response body key X-Api-Key",
        "request body key password",
        "2 values in the response body",
        "1 value in the request body",
    ]


def test_it_redacts_urls_by_name_and_password() -> None:
    r = Redactor.for_secrets([])
    url = r.url("https://ann:pw-1234@example.com/p?token=abc&page=2", "URL")
    assert url == "https://ann:[redacted]@example.com/p?token=[redacted]&page=2"
    assert "query parameter token" in r.note()


def test_it_blanks_evidence_about_secret_headers_and_keeps_descriptions() -> None:
    r = Redactor.for_secrets([])
    data = r.data(
        {
            "causes": [
                {
                    "evidence": [
                        {"source": "request_header", "name": "Authorization", "value": "Bearer x"},
                        {"source": "request_header", "name": "X-Api-Key", "value": f"{R}, 9 chars"},
                        {"source": "param", "name": "api_key", "value": "(not sent)"},
                        {"source": "header", "name": "Retry-After", "value": "30"},
                    ]
                }
            ]
        },
        "diagnosis",
    )
    values = [line["value"] for line in data["causes"][0]["evidence"]]
    assert values == [R, f"{R}, 9 chars", "(not sent)", "30"]


@given(st.text(min_size=4, max_size=40), st.text(max_size=40), st.text(max_size=40))
def test_a_secret_never_survives_in_any_text(secret: str, before: str, after: str) -> None:
    assume("\x00" not in secret)
    r = Redactor.for_secrets([secret])
    cleaned = r.text(before + secret + after, "response body")
    # Markers apart (a secret such as "acte" is in "[redacted]" itself), nothing is left.
    assert secret not in cleaned.replace(R, "\x00")
