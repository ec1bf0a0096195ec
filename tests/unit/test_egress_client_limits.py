"""Hostile servers against the egress caps: each answer is cut at its limit, memory flat.

The servers run in this process, so the memory measured is the whole process's: they
stream their large answers from one small buffer and build their bombs before measuring.
"""

import gc
import resource
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from apps.egress.client import Limits, send
from apps.egress.policy import AddressPolicy
from apps.egress.types import Exchange, FailureKind, OutboundRequest
from tests.support.egress import assert_failed
from tests.support.servers import (
    MIB,
    Served,
    gzip_bomb,
    layered_empty_members,
    layered_gzip_bomb,
    serving,
)

LOOPBACK = AddressPolicy.from_allowlist(["127.0.0.1", "::1"])
TOO_LARGE = FailureKind.RESPONSE_TOO_LARGE


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    gzip_bomb(1024), layered_gzip_bomb(), layered_empty_members(200_000)  # built once, now
    with serving() as served:
        yield served


@dataclass(frozen=True)
class Measured:
    exchange: Exchange
    seconds: float
    peak_traced_bytes: int  # tracemalloc's peak: every Python allocation, all threads
    max_rss_growth_bytes: int  # growth of the process's peak resident set


def measured(call: Callable[[], Exchange]) -> Measured:
    gc.collect()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    tracemalloc.start()
    started = time.monotonic()
    try:
        exchange = call()
    finally:
        seconds = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return Measured(exchange, seconds, peak, rss_after - rss_before)


def get(server: Served, path: str, **kwargs: object) -> OutboundRequest:
    return OutboundRequest(method="GET", url=f"{server.base}{path}", **kwargs)  # type: ignore[arg-type]


# (path, cap on the kept body, the cut expected) for bodies far larger than their cap.
BODIES = [
    ("/huge", "body_bytes"),  # 1 GiB of plain bytes
    ("/gzip-bomb", "decoded_bytes"),  # 1 MB of gzip that decodes to 1 GiB
    ("/layered-bomb", "decoded_bytes"),  # the same bomb, gzipped again: "gzip, gzip"
]


@pytest.mark.parametrize(("path", "cut"), BODIES)
@pytest.mark.parametrize("cap", [64 * 1024, 4 * MIB])
def test_it_cuts_a_huge_body_at_its_cap_with_flat_memory(
    server: Served, path: str, cut: str, cap: int
) -> None:
    result = measured(lambda: send(get(server, path), policy=LOOPBACK, limits=Limits(cap)))
    response = result.exchange.response
    assert response is not None and response.status == 200
    assert len(response.body) == cap
    assert response.truncated and response.cut == cut
    # The kept body once, its final copy, and buffers of a few chunks: never the 1 GiB.
    assert result.peak_traced_bytes < 2 * cap + 4 * MIB
    assert result.max_rss_growth_bytes < 2 * cap + 64 * MIB
    assert result.seconds < 5


@pytest.mark.parametrize(
    ("path", "limits", "kind", "detail"),
    [
        ("/layers?n=3", Limits(), TOO_LARGE, "encoding_layers"),
        ("/layers?n=6", Limits(), TOO_LARGE, "encoding_layers"),
        ("/layers?n=1&encoding=gzip,gzip,gzip", Limits(), TOO_LARGE, "encoding_layers"),
        ("/layers?n=3", Limits(max_encoding_layers=1), TOO_LARGE, "encoding_layers"),
        ("/empty-members", Limits(max_compressed_bytes=256 * 1024), TOO_LARGE, "compressed_body"),
        ("/layered-empty", Limits(max_compressed_bytes=256 * 1024), TOO_LARGE, "compressed_body"),
        ("/many-headers", Limits(), TOO_LARGE, "headers"),
        ("/many-headers?count=100", Limits(), TOO_LARGE, "headers"),
        ("/many-headers?count=30", Limits(max_response_headers=20), TOO_LARGE, "headers"),
        ("/long-header", Limits(), TOO_LARGE, "headers"),
        ("/bad-gzip", Limits(), FailureKind.PROTOCOL, "content_decoding"),
    ],
)
def test_it_refuses_what_would_not_fit_its_caps(
    server: Served, path: str, limits: Limits, kind: FailureKind, detail: str
) -> None:
    result = measured(lambda: send(get(server, path), policy=LOOPBACK, limits=limits))
    failure = result.exchange.failure
    assert failure is not None
    assert_failed(result.exchange, kind, detail)
    assert result.peak_traced_bytes < 8 * MIB
    assert result.seconds < 5


@pytest.mark.parametrize(
    ("path", "limits"),
    [
        ("/layers?n=1", Limits()),
        ("/layers?n=2", Limits()),
        ("/layers?n=2&encoding=gzip,%20identity,%20x-gzip", Limits()),
        ("/layers?n=3", Limits(max_encoding_layers=3)),
        ("/many-headers?count=99", Limits()),
    ],
)
def test_it_reads_answers_within_the_caps_whole(server: Served, path: str, limits: Limits) -> None:
    exchange = send(get(server, path), policy=LOOPBACK, limits=limits)
    assert exchange.response is not None, exchange.failure
    assert not exchange.response.truncated and exchange.response.cut == ""
    if path.startswith("/layers"):
        assert exchange.response.body == b'{"layers": "all decoded"}'


@pytest.mark.parametrize(
    ("path", "timeout", "detail"),
    [
        ("/drip?interval=1", 1.5, "deadline"),  # one byte a second, body announced as 1000
        ("/drip?interval=0.05", 1.0, "deadline"),  # faster than any read timeout, still cut
        ("/drip-head?interval=0.2", 1.0, "deadline"),  # headers that never end
        ("/slow?seconds=3", 0.5, "no_answer"),
    ],
)
def test_it_cuts_a_slow_server_off_at_the_deadline(
    server: Served, path: str, timeout: float, detail: str
) -> None:
    exchange = send(get(server, path, timeout=timeout), policy=LOOPBACK)
    assert exchange.failure is not None
    assert_failed(exchange, FailureKind.READ_TIMEOUT, detail)
    assert timeout * 1000 <= exchange.elapsed_ms < timeout * 1000 + 700


def test_it_says_a_server_was_still_sending_when_the_deadline_passed(server: Served) -> None:
    exchange = send(get(server, "/drip", timeout=0.6), policy=LOOPBACK)
    assert exchange.failure is not None
    assert "still sending" in exchange.failure.message


@pytest.mark.parametrize(
    ("path", "limits", "detail", "hops"),
    [
        ("/loop", Limits(), "loop", 1),
        ("/chain?n=50", Limits(), "limit", 6),
        ("/chain?n=3", Limits(max_redirects=2), "limit", 3),
    ],
)
def test_it_stops_following_redirects_at_a_loop_or_the_limit(
    server: Served, path: str, limits: Limits, detail: str, hops: int
) -> None:
    exchange = send(get(server, path, follow_redirects=True), policy=LOOPBACK, limits=limits)
    assert exchange.failure is not None
    assert_failed(exchange, FailureKind.TOO_MANY_REDIRECTS, detail)
    assert len(exchange.redirects) == hops


def test_it_follows_up_to_five_redirects(server: Served) -> None:
    exchange = send(get(server, "/chain?n=5", follow_redirects=True), policy=LOOPBACK)
    assert exchange.response is not None and exchange.response.status == 200
    assert exchange.redirects == [(302, f"/chain?n={n}") for n in range(4, -1, -1)]
    assert exchange.url == f"{server.base}/chain?n=0"


def test_it_reads_nothing_for_a_head_request(server: Served) -> None:
    exchange = send(OutboundRequest("HEAD", f"{server.base}/huge"), policy=LOOPBACK)
    assert exchange.response is not None
    assert exchange.response.body == b"" and not exchange.response.truncated
