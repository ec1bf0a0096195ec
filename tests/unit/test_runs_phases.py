"""What the run and share pages read from an attempt: Server-Timing, request ids, the
waterfall's geometry (apps/runs/phases.py)."""

from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.egress.types import HopFacts, Timings
from apps.runs.phases import (
    FINAL_FIELDS,
    ServerMetric,
    attempt_facts,
    final_phases,
    parse_server_timing,
    request_ids,
    waterfall,
)


@pytest.mark.parametrize(
    ("values", "metrics"),
    [
        (["db;dur=53"], [ServerMetric("db", 53.0)]),
        (
            ['cache;desc="Cache Read";dur=23.2, app;dur=47.2'],
            [ServerMetric("cache", 23.2, "Cache Read"), ServerMetric("app", 47.2)],
        ),
        (["miss, total;dur=1.5"], [ServerMetric("miss", None), ServerMetric("total", 1.5)]),
        (['edge;desc="a, b; c";dur=2'], [ServerMetric("edge", 2.0, "a, b; c")]),
        (
            ["cdn-cache;desc=HIT", "origin;dur=90"],
            [ServerMetric("cdn-cache", None, "HIT"), ServerMetric("origin", 90.0)],
        ),
        (["db;dur=abc, ;dur=3, bad name;dur=1"], [ServerMetric("db", None)]),
        (["x;dur=-5"], [ServerMetric("x", None)]),
        ([""], []),
    ],
)
def test_it_reads_server_timing(values: list[str], metrics: list[ServerMetric]) -> None:
    assert parse_server_timing(values) == metrics


@given(st.lists(st.text(max_size=200), max_size=5))
def test_server_timing_never_raises_and_keeps_durations_sane(values: list[str]) -> None:
    for metric in parse_server_timing(values):
        assert metric.name and len(metric.name) <= 60
        assert metric.duration_ms is None or 0 <= metric.duration_ms < 1e9


def test_it_finds_the_request_ids_a_support_desk_asks_for() -> None:
    headers = [
        ["Content-Type", "application/json"],
        ["cf-ray", "8f1e2d3c4b5a6978-CDG"],
        ["x-request-id", "req_123"],
        ["X-Request-Id", "a second one is ignored"],
        ["X-Amzn-RequestId", "0f6a-11"],
        ["traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
        ["X-Empty-Request-Id", ""],
    ]
    found = [(r.header, r.value) for r in request_ids(headers)]
    assert found == [
        ("x-request-id", "req_123"),
        ("X-Amzn-RequestId", "0f6a-11"),
        ("cf-ray", "8f1e2d3c4b5a6978-CDG"),
        ("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    ]


def hop(total: float, status: int | None = 200, **phases: float | None) -> HopFacts:
    blocked = total - sum(v for v in phases.values() if v is not None)
    # `phases` holds Timings' phase fields only (all floats); mypy cannot tell them apart.
    fields = cast(dict[str, Any], phases)
    return HopFacts(timings=Timings(total=total, blocked=blocked, **fields), status=status)


def test_the_waterfall_lays_hops_end_to_end_and_server_metrics_under_the_wait() -> None:
    hops = [
        hop(100, 302, dns=10, connect=20, tls=30, send=5, wait=30, receive=5),
        hop(200, 200, send=5, wait=150, receive=45),
    ]
    chart = waterfall(hops, [ServerMetric("db", 120.0), ServerMetric("miss", None)])
    assert chart is not None
    assert [row.label for row in chart.rows] == ["Hop 1 (302)", "Final (200)", "Server: db"]
    first, final, server = chart.rows
    assert [bar.phase for bar in first.bars] == [
        "dns", "connect", "tls", "send", "wait", "receive",
    ]  # fmt: skip
    # The final hop starts where the first ended; its wait starts after its send.
    assert final.bars[0].x == pytest.approx(first.bars[-1].x + first.bars[-1].width, abs=0.2)
    assert server.bars[0].x == final.bars[1].x
    assert server.bars[0].ms == 120.0
    assert all(
        chart.plot_left <= bar.x <= chart.plot_right for row in chart.rows for bar in row.bars
    )
    assert chart.ticks[-1].position == chart.plot_right
    assert first.total_text == "100 ms"


def test_a_failed_phase_is_drawn_even_when_short_and_no_hop_means_no_waterfall() -> None:
    failed = HopFacts(
        timings=Timings(total=5, blocked=0, dns=0, connect=5, failed_in="connect"), status=None
    )
    chart = waterfall([failed], [])
    assert chart is not None and [b.phase for b in chart.rows[0].bars] == ["connect"]
    assert chart.rows[0].label == "Request"
    assert waterfall([], []) is None


def test_attempt_facts_read_back_what_was_stored_and_skip_what_is_not_facts() -> None:
    stored = [hop(10, send=1, wait=8, receive=1).to_dict(), {"nonsense": True}, "x"]
    facts = attempt_facts(
        hops=stored,
        response_headers=[["Server-Timing", "db;dur=3"], ["X-Request-Id", "r-1"]],
        sent_headers=[["traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]],
    )
    assert len(facts.hops) == 1 and facts.final is not None
    assert facts.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    data = facts.to_dict()
    assert data["request_ids"] == [{"header": "X-Request-Id", "value": "r-1"}]
    assert data["server_timing"] == [{"name": "db", "duration_ms": 3.0, "description": ""}]
    assert data["hops"][0]["timings"]["wait"] == 8
    assert attempt_facts(hops=None, response_headers=[], sent_headers=[]).hops == []


REUSED = HopFacts(timings=Timings(total=9.5, blocked=0.5, send=1, wait=7, receive=1, reused=True))
FRESH = HopFacts(timings=Timings(total=30, dns=2, connect=3, tls=20, send=1, wait=3, receive=1))


@pytest.mark.parametrize(
    ("hops", "expected"),
    [
        ([FRESH.to_dict()], (30.0, 2.0, 3.0, 20.0, 1.0, 3.0, 1.0)),
        # The final request's, not the redirect's before it; no DNS, connect or TLS on a
        # reused connection.
        ([FRESH.to_dict(), REUSED.to_dict()], (9.5, None, None, None, 1.0, 7.0, 1.0)),
        (
            [{"timings": {"total": 2, "wait": 2, "dns": "x"}}],
            (2.0, None, None, None, None, 2.0, None),
        ),
        # The final request holds no timings: not measured, whatever came before it.
        ([FRESH.to_dict(), {"timings": {"total": "x", "wait": 1}}], (None,) * 7),
        ([FRESH.to_dict(), "x"], (None,) * 7),
        ([], (None,) * 7),
        ({"timings": {"total": 1}}, (None,) * 7),  # not a list of hops
        (None, (None,) * 7),
    ],
)
def test_final_phases_are_the_final_requests_timings_as_read_back(
    hops: object, expected: tuple
) -> None:
    found = final_phases(hops)
    assert list(found) == list(FINAL_FIELDS)
    assert tuple(found.values()) == expected
