"""apps/diagnosis/facts.py: what the rules read from an exchange, and the secrets it carried
(every credential and the parts of it that may be echoed), removed with egress' policy."""

import base64
import json

from apps.diagnosis.facts import read_facts
from apps.diagnosis.lookups import get_profile
from apps.egress.types import Exchange, Failure, FailureKind, Response

KEY = "kaiko-facts-key-0123456789"


def exchange(
    url: str,
    headers: list[tuple[str, str]],
    *,
    status: int = 401,
    message: str = "no",
) -> Exchange:
    body = json.dumps({"result": "error", "message": message}).encode()
    return Exchange(
        method="get",
        url=url,
        request_headers=headers,
        response=Response(
            status=status,
            reason="Unauthorized",
            headers=[("Content-Type", "application/json"), ("Retry-After", "5")],
            body=body,
            truncated=False,
        ),
        failure=None,
        elapsed_ms=7.5,
    )


def test_every_credential_and_its_echoable_parts_are_secrets() -> None:
    basic = "Basic " + base64.b64encode(b"alice:basic-pass-42").decode()
    facts = read_facts(
        exchange(
            "https://user:url-pass-77@api.example.com/v1/x?token=query-tok-5&page=2",
            [
                ("X-Api-Key", KEY),
                ("Authorization", "Bearer bearer-tok-3"),
                ("Proxy-Authorization", basic),
                ("Cookie", "theme=dark; session=cookie-val-9"),
                ("Accept", "application/json"),
            ],
        ),
        get_profile("http"),
    )
    for secret in (
        KEY,
        "bearer-tok-3",
        "basic-pass-42",
        "cookie-val-9",
        "query-tok-5",
        "url-pass-77",
    ):
        assert secret in facts.secrets
    assert "application/json" not in facts.secrets and "2" not in facts.secrets
    assert list(facts.secrets) == sorted(facts.secrets, key=len, reverse=True)


def test_what_is_shown_has_every_encoding_of_a_secret_removed() -> None:
    facts = read_facts(exchange("https://api.example.com/", [("X-Api-Key", KEY)]),
                       get_profile("http"))  # fmt: skip
    mixed = "".join(f"%{b:02x}" if i % 2 else f"%{b:02X}" for i, b in enumerate(KEY.encode()))
    inside_basic = base64.b64encode(f"bob:{KEY}".encode()).decode()
    json_escaped = "".join(f"\\u{ord(char):04x}" for char in KEY)
    for echo in (KEY, mixed, inside_basic, KEY.encode().hex().upper(), json_escaped):
        assert facts.redact(f"got {echo}!") == "got [redacted]!"
    assert facts.shown(f"key={KEY}") == "key=[redacted]"
    assert facts.redact("nothing secret here") == "nothing secret here"


def test_the_message_of_the_api_is_read_and_redacted() -> None:
    facts = read_facts(
        exchange("https://api.example.com/", [("X-Api-Key", KEY)], message=f"bad key {KEY}"),
        get_profile("http"),
    )
    assert facts.api_message == "bad key [redacted]"
    assert (facts.status, facts.retry_after_seconds) == (401, 5)
    assert facts.response_header("retry-after") == "5"
    assert facts.request_header("x-api-key") == KEY  # the rules see what was sent


def test_the_url_is_split_for_the_rules() -> None:
    facts = read_facts(
        exchange("HTTPS://API.Example.COM.:8443/v1/x?b=2&a=&b=3", []), get_profile("http")
    )
    assert (facts.method, facts.scheme, facts.host, facts.port, facts.path) == (
        "GET", "https", "api.example.com", 8443, "/v1/x"
    )  # fmt: skip
    assert facts.query == (("b", "2"), ("a", ""), ("b", "3"))
    assert facts.param("b") == "2" and facts.param("missing") is None


def test_a_failure_without_a_response_keeps_its_kind_and_a_redacted_message() -> None:
    failed = Exchange(
        method="POST",
        url="https://api.example.com/",
        request_headers=[("Authorization", f"Bearer {KEY}")],
        response=None,
        failure=Failure(kind=FailureKind.READ_TIMEOUT, message=f"timed out sending {KEY}"),
        elapsed_ms=10_000.0,
    )
    facts = read_facts(failed, get_profile("http"))
    assert facts.status is None and facts.failure_kind == "read_timeout"
    assert facts.failure_message == "timed out sending [redacted]"
