"""The redaction policy: secret names, and every encoding of a secret value."""

import base64
import html
import json
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.egress.redaction import (
    REDACTED,
    SecretValues,
    credential_parts,
    is_secret_name,
    redact_body,
    redact_data,
    redact_pairs,
    redact_url,
    secret_forms,
)

KEY = "KSECRET-0001-key"


def encodings(value: str) -> dict[str, str]:
    data = value.encode()
    b64 = base64.b64encode(data).decode()
    b64url = base64.urlsafe_b64encode(data).decode()
    b32 = base64.b32encode(data).decode()
    return {
        "plain": value,
        "hex": data.hex(),
        "HEX": data.hex().upper(),
        "Mixed hex": "".join(c.upper() if i % 3 else c for i, c in enumerate(data.hex())),
        "base64": b64,
        "base64 unpadded": b64.rstrip("="),
        "base64url": b64url,
        "base64url unpadded": b64url.rstrip("="),
        "base32": b32,
        "base32 unpadded lower": b32.rstrip("=").lower(),
        "url": quote(value, safe=""),
        "url plus": quote_plus(value),
        "every byte": "".join(f"%{b:02X}" for b in data),
        "every byte lower": "".join(f"%{b:02x}" for b in data),
        "json": json.dumps(value)[1:-1],
        "json \\u": json.dumps(value, ensure_ascii=True)[1:-1],
        "json every \\u": "".join(f"\\u{ord(c):04X}" for c in value if ord(c) < 0x10000),
        "html": html.escape(value),
        "html decimal": "".join(f"&#{ord(c)};" for c in value),
        "html hex": "".join(f"&#x{ord(c):x};" for c in value),
        "basic": base64.b64encode(f"alice:{value}".encode()).decode(),
        "bearer base64": base64.b64encode(f"Bearer {value}".encode()).decode(),
        "inside base64url": base64.urlsafe_b64encode(f"x{value}yz".encode()).decode(),
    }


@pytest.mark.parametrize(("name", "form"), encodings(KEY).items())
def test_it_removes_every_encoding_of_a_secret(name: str, form: str) -> None:
    text = f"echo: {form} (end)"
    assert SecretValues([KEY]).redact(text) == f"echo: {REDACTED} (end)", name


@pytest.mark.parametrize("value", ["a&b<c>\"d'/e\\f g", "kéy-ÿ-secret", "tok😀en"])
def test_it_removes_encodings_of_secrets_with_odd_characters(value: str) -> None:
    values = SecretValues([value])
    for name, form in encodings(value).items():
        if name == "json every \\u" and any(ord(c) >= 0x10000 for c in value):
            continue
        assert values.redact(f"<{form}>") == f"<{REDACTED}>", name


def test_it_lists_the_forms_tests_search_for() -> None:
    forms = secret_forms([KEY])
    assert KEY in forms and base64.b64encode(KEY.encode()).decode() in forms
    assert KEY.encode().hex() in forms and KEY.encode().hex().upper() in forms
    assert all(SecretValues([KEY]).redact(form) == REDACTED for form in forms)


@pytest.mark.parametrize("value", [KEY, "clé-€-secrète", 'emoji-\U0001f600-key\n/"x'])
def test_it_lists_each_character_form_of_a_secret(value: str) -> None:
    """Every byte as %XX (both cases), every UTF-16 unit as \\uXXXX, every character as
    &#N; and &#xN;, as written one character at a time."""
    units: list[str] = []
    for char in value:
        point = ord(char)
        if point > 0xFFFF:
            point -= 0x10000
            units += [f"{0xD800 + (point >> 10):04x}", f"{0xDC00 + (point & 0x3FF):04x}"]
        else:
            units.append(f"{point:04x}")
    forms = secret_forms([value])
    assert "".join(f"%{byte:02X}" for byte in value.encode()) in forms
    assert "".join(f"%{byte:02x}" for byte in value.encode()) in forms
    assert "".join(f"\\u{unit}" for unit in units) in forms
    assert "".join(f"&#{ord(char)};" for char in value) in forms
    assert "".join(f"&#x{ord(char):x};" for char in value) in forms
    assert [len(form) for form in forms] == sorted((len(form) for form in forms), reverse=True)


def test_it_leaves_other_text_alone() -> None:
    text = 'plain words, base64 aGVsbG8gd29ybGQ=, hex 0a1b2c3d, %41 &#65; \\u0041 {"a": 1}'
    assert SecretValues([KEY]).redact(text) == text
    assert SecretValues(["abc"]).redact("abc") == "abc"  # too short to tell from text


@settings(max_examples=60, deadline=None)
@given(
    secret=st.text(
        alphabet=st.characters(
            codec="utf-8", exclude_categories=["Cs", "Cc"], exclude_characters="\x00"
        ),
        min_size=6,
        max_size=30,
    ),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
)
def test_it_removes_every_form_of_any_secret_wherever_it_is(
    secret: str, before: str, after: str
) -> None:
    values = SecretValues([secret])
    for form in secret_forms([secret]):
        cleaned = values.redact(before + form + after)
        # Markers apart (a secret such as "[redac" is in the marker itself), nothing is left.
        assert form not in cleaned.replace(REDACTED, "\x00")


def test_it_finds_credential_parts() -> None:
    basic = base64.b64encode(b"alice:pa55word").decode()
    assert "tok-123" in credential_parts("Bearer tok-123")
    assert "pa55word" in credential_parts(f"Basic {basic}")
    assert "s3ss10n" in credential_parts("theme=dark; session=s3ss10n")
    assert "quoted-key" in credential_parts('"quoted-key"')


def test_it_redacts_urls_by_name_and_by_value() -> None:
    url = f"https://u:pw@api.example/v1/{KEY}/x?api_key=abcd&q={quote(KEY)}&page=2"
    shown = redact_url(url, [KEY])
    assert KEY not in shown and "pw@" not in shown and "abcd" not in shown
    assert shown.startswith("https://u:[redacted]@api.example/v1/[redacted]/x?")
    assert "page=2" in shown
    assert redact_url("https://api.example/x?page=1") == "https://api.example/x?page=1"


def test_it_redacts_pairs_by_name_by_value_and_urls_in_location() -> None:
    pairs = [
        ["Authorization", "Bearer abcdef"],
        ["X-Trace", f"trace-{KEY}"],
        ["Location", "https://a.example/?token=zzzz&page=1"],
        ["Accept", "application/json"],
    ]
    assert redact_pairs(pairs, [KEY]) == [
        ["Authorization", REDACTED],
        ["X-Trace", f"trace-{REDACTED}"],
        ["Location", "https://a.example/?token=[redacted]&page=1"],
        ["Accept", "application/json"],
    ]


def test_it_redacts_bodies_by_key_and_by_value() -> None:
    body = json.dumps({"password": "hunter22", "note": f"key {KEY}", "n": [{"token": 5}]})
    shown, found = redact_body(body, "application/json", [KEY])
    assert json.loads(shown) == {
        "password": REDACTED,
        "note": f"key {REDACTED}",
        "n": [{"token": REDACTED}],
    }
    assert found == ["hunter22", "5"]
    form, found = redact_body(f"user=al&password=pw12&x={KEY}", "x-www-form-urlencoded", [KEY])
    assert found == ["pw12"] and "pw12" not in form and KEY not in form


def test_it_cleans_a_body_too_deep_to_parse_by_value_only() -> None:
    deep = "[" * 1000 + json.dumps(KEY) + "]" * 1000
    shown, found = redact_body(deep, "application/json", [KEY])
    assert found == [] and KEY not in shown and shown.count("[") == 1000 + 1


def test_it_cleans_stored_data() -> None:
    data = {"title": f"Key {KEY} refused", "evidence": [{"value": KEY}], "n": 3}
    assert redact_data(data, [KEY]) == {
        "title": f"Key {REDACTED} refused",
        "evidence": [{"value": REDACTED}],
        "n": 3,
    }


def test_it_knows_secret_names() -> None:
    assert is_secret_name("Authorization") and is_secret_name("api_key")
    assert is_secret_name("X-Session-Token") and not is_secret_name("Accept")


# JSON limits ------------------------------------------------------------------------------
