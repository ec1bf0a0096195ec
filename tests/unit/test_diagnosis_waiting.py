"""How long to wait and the quota a response announces: Retry-After, the RateLimit drafts
and the X-RateLimit-* family, read tolerantly."""

from datetime import UTC, datetime
from typing import Any

import pytest

from apps.diagnosis.diagnose import diagnose
from apps.diagnosis.lookups import get_profile
from apps.diagnosis.results import DiagnosisContext
from apps.diagnosis.waiting import read_wait, sf_members
from apps.egress.types import Exchange, Response

KAIKO = "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades"
KEY = "kaiko-key-5f0c2b7e9d"
DATE = "Tue, 24 Nov 2026 20:00:00 GMT"
NOW = datetime(2026, 11, 24, 20, 0, 0, tzinfo=UTC)


def response(
    status: int = 429, headers: list[tuple[str, str]] | None = None, body: bytes = b""
) -> Response:
    return Response(status=status, reason="", headers=headers or [], body=body, truncated=False)


def exchange_of(status: int = 429, headers: list[tuple[str, str]] | None = None) -> Exchange:
    return Exchange(
        method="GET",
        url=KAIKO,
        request_headers=[("X-Api-Key", KEY)],
        response=response(status, headers),
        failure=None,
        elapsed_ms=10.0,
    )


# ------------------------------------------------------------------- how long to wait


@pytest.mark.parametrize(
    ("headers", "wait", "source"),
    [
        ([("Retry-After", "120")], 120, "Retry-After"),
        ([("Retry-After", " 0 ")], 0, "Retry-After"),
        # RFC 9110 §10.2.3: an HTTP-date, measured from the response's Date...
        ([("Retry-After", "Tue, 24 Nov 2026 20:00:45 GMT"), ("Date", DATE)], 45, "Retry-After"),
        # ... or the obsolete RFC 850 form, which HTTP-date still admits
        ([("Retry-After", "Tuesday, 24-Nov-26 20:01:00 GMT"), ("Date", DATE)], 60, "Retry-After"),
        # ... or from the caller's "now" without a Date header
        ([("Retry-After", "Tue, 24 Nov 2026 20:02:00 GMT")], 120, "Retry-After"),
        ([("Retry-After", "Tue, 24 Nov 2026 19:00:00 GMT"), ("Date", DATE)], 0, "Retry-After"),
        # The IETF draft: RateLimit r= remaining, t= seconds to reset
        ([("RateLimit", '"default";r=0;t=30')], 30, "RateLimit"),
        ([("RateLimit", '"burst";r=5;t=1, "daily";r=0;t=3600')], 3600, "RateLimit"),
        ([("RateLimit", "limit=10, remaining=0, reset=7")], 7, "RateLimit"),
        ([("RateLimit-Remaining", "0"), ("RateLimit-Reset", "12")], 12, "RateLimit-Reset"),
        ([("X-RateLimit-Reset", "1795550430")], 30, "X-RateLimit-Reset"),  # epoch s
        ([("X-RateLimit-Reset", "1795550430000")], 30, "X-RateLimit-Reset"),  # epoch ms
        ([("X-Rate-Limit-Reset", "15")], 15, "X-Rate-Limit-Reset"),
        # Retry-After wins over the rest.
        ([("RateLimit", '"default";r=0;t=30'), ("Retry-After", "5")], 5, "Retry-After"),
        # Malformed: ignored, never raised.
        ([("Retry-After", "soon")], None, None),
        ([("Retry-After", "-5")], None, None),
        ([("Retry-After", "1.5")], None, None),
        ([("Retry-After", "9" * 5000)], None, None),
        ([("Retry-After", "Mon, 99 Foo 0000")], None, None),
        ([("RateLimit", '"default";r=zero;t=soon')], None, None),
        ([("RateLimit", '";;;,,,"')], None, None),
        ([("X-RateLimit-Reset", "99999999999999999999")], None, None),
        ([("X-RateLimit-Reset", "4102444800")], None, None),  # 2100: no advice
        ([], None, None),
    ],
)
def test_it_reads_how_long_to_wait(
    headers: list[tuple[str, str]], wait: int | None, source: str | None
) -> None:
    facts = read_wait(response(429, headers), now=NOW)
    assert (facts.wait_seconds, facts.wait_source) == (wait, source)
    diagnosis = diagnose(
        exchange_of(429, headers), get_profile("kaiko"), context=DiagnosisContext(now=NOW)
    )
    assert diagnosis.wait_seconds == wait
    assert diagnosis.wait_source == source


def test_it_does_not_wait_while_quota_is_left() -> None:
    facts = read_wait(response(200, [("RateLimit", '"default";r=50;t=30')]), now=NOW)
    assert facts.wait_seconds is None
    assert facts.quota["remaining"] == 50 and facts.quota["reset_seconds"] == 30


@pytest.mark.parametrize(
    ("headers", "quota"),
    [
        (
            [("RateLimit-Policy", '"default";q=100;w=10'), ("RateLimit", '"default";r=0;t=3')],
            {"limit": 100, "remaining": 0, "window_seconds": 10, "policy": "default"},
        ),
        (
            [
                ("RateLimit-Policy", '"burst";q=10;w=1, "daily";q=1000;w=86400'),
                ("RateLimit", '"burst";r=3;t=1, "daily";r=0;t=600'),
            ],
            {"limit": 1000, "remaining": 0, "window_seconds": 86400, "policy": "daily"},
        ),
        (
            [("X-RateLimit-Limit", "60"), ("X-RateLimit-Remaining", "7")],
            {"limit": 60, "remaining": 7, "window_seconds": None, "policy": None},
        ),
        (
            [("RateLimit-Limit", "100, 100;w=60, 1000;w=3600"), ("RateLimit-Remaining", "1")],
            {"limit": 100, "remaining": 1, "window_seconds": 60},
        ),
        ([("X-RateLimit-Limit", "lots")], {}),
        ([], {}),
    ],
)
def test_it_reads_the_quota(headers: list[tuple[str, str]], quota: dict[str, Any]) -> None:
    found = read_wait(response(429, headers), now=NOW).quota
    if not quota:
        assert found == {}
    for key, value in quota.items():
        assert found[key] == value


def test_it_parses_structured_field_lists() -> None:
    assert sf_members('"default";r=0;t=30, "x;y";q=1') == [
        ("default", {"r": "0", "t": "30"}),
        ("x;y", {"q": "1"}),
    ]
    assert sf_members("limit=1, remaining=0") == [("", {"limit": "1"}), ("", {"remaining": "0"})]
    assert sf_members("") == []
