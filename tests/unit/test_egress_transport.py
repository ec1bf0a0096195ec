"""Phase timings from the clock's marks, and the HAR timings written from them.

Tolerance: the phases of a request add up to its total within TOLERANCE_MS (each phase
and the total are rounded to a microsecond; `blocked` takes what the others leave)."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.egress.transport import PhaseClock
from apps.egress.types import PHASES, ConnectionFacts, HopFacts, Timings
from apps.runs import exports
from tests.support.har import VALIDATOR, an_attempt, as_document, entry_of, har_problems

TOLERANCE_MS = 0.01


def assert_adds_up(timings: Timings) -> None:
    known = [timings.phase(name) for name in PHASES]
    assert all(value is None or value >= 0 for value in known)
    assert abs(sum(v for v in known if v is not None) - timings.total) <= TOLERANCE_MS


def fresh_https(**marks: float | None) -> PhaseClock:
    """A fresh https request: marks in seconds from 100.0."""
    defaults: dict[str, float | None] = {
        "dns_start": 100.0,
        "dns_end": 100.010,
        "connect_start": 100.011,
        "tcp_end": 100.031,
        "request_start": 100.011,  # urllib3 asks to send before the connection exists
        "tls_end": 100.081,
        "send_end": 100.082,
        "first_byte": 100.482,
    }
    clock = PhaseClock(started=100.0)
    for name, value in {**defaults, **marks}.items():
        setattr(clock, name, value)
    return clock


def test_it_splits_a_fresh_https_request_into_its_phases() -> None:
    timings = fresh_https().timings(end=100.500, https=True, failed=False)
    assert timings.dns == pytest.approx(10)
    assert timings.connect == pytest.approx(20)
    assert timings.tls == pytest.approx(50)
    assert timings.send == pytest.approx(1)  # from the end of the handshake, not before
    assert timings.wait == pytest.approx(400)
    assert timings.receive == pytest.approx(18)
    assert timings.blocked == pytest.approx(1)  # between the lookup and the connect
    assert timings.total == pytest.approx(500)
    assert (timings.reused, timings.failed_in) == (False, "")
    assert_adds_up(timings)


def test_a_reused_connection_has_no_dns_connect_or_tls() -> None:
    clock = PhaseClock(started=10.0, dns_start=10.0, dns_end=10.004, reused=True)
    clock.request_start, clock.send_end, clock.first_byte = 10.005, 10.006, 10.106
    timings = clock.timings(end=10.110, https=True, failed=False)
    assert (timings.dns, timings.connect, timings.tls) == (None, None, None)
    assert timings.reused is True
    assert timings.blocked == pytest.approx(5)  # the address checked again, before reuse
    assert timings.wait == pytest.approx(100)
    assert_adds_up(timings)


def test_an_ip_address_and_plain_http_have_no_dns_and_no_tls() -> None:
    clock = PhaseClock(started=1.0, connect_start=1.0, tcp_end=1.002, request_start=1.0)
    clock.send_end, clock.first_byte = 1.003, 1.010
    timings = clock.timings(end=1.011, https=False, failed=False)
    assert (timings.dns, timings.tls) == (None, None)
    assert timings.send == pytest.approx(1)
    assert_adds_up(timings)


@pytest.mark.parametrize(
    ("marks", "failed_in", "happened"),
    [
        ({"dns_end": None}, "dns", ("blocked", "dns")),
        ({"tcp_end": None}, "connect", ("blocked", "dns", "connect")),
        ({"tls_end": None}, "tls", ("blocked", "dns", "connect", "tls")),
        ({"send_end": None}, "send", ("blocked", "dns", "connect", "tls", "send")),
        ({"first_byte": None}, "wait", ("blocked", "dns", "connect", "tls", "send", "wait")),
        ({}, "receive", PHASES),
    ],
)
def test_a_failure_names_its_phase_and_no_phase_after_it_happened(
    marks: dict[str, None], failed_in: str, happened: tuple[str, ...]
) -> None:
    timings = fresh_https(**marks).timings(end=101.0, https=True, failed=True)
    assert timings.failed_in == failed_in
    for name in PHASES:
        assert (timings.phase(name) is not None) is (name in happened), name
    failed_phase = timings.phase(failed_in)
    assert failed_phase is not None and failed_phase > 0
    assert_adds_up(timings)


marks = st.lists(st.floats(min_value=0, max_value=60, allow_nan=False), min_size=8, max_size=8)


@given(
    offsets=marks,
    reached=st.integers(min_value=0, max_value=8),
    https=st.booleans(),
    reused=st.booleans(),
    literal=st.booleans(),
)
def test_phases_always_add_up_and_stop_at_the_first_unfinished_one(
    offsets: list[float], reached: int, https: bool, reused: bool, literal: bool
) -> None:
    points = sorted(offsets)
    names = [
        "dns_start",
        "dns_end",
        "connect_start",
        "tcp_end",
        "tls_end",
        "send_end",
        "first_byte",
        "end",
    ]
    clock = PhaseClock(started=0.0, reused=reused)
    values = dict(zip(names, points, strict=True))
    for index, name in enumerate(names[:-1]):
        setattr(clock, name, values[name] if index < reached else None)
    if literal:
        clock.dns_start = clock.dns_end = None
    clock.request_start = values["connect_start"] if reached > 2 else None
    timings = clock.timings(end=values["end"], https=https, failed=reached < 7)
    assert_adds_up(timings)
    if not https:
        assert timings.tls is None
    if reused:
        assert (timings.dns, timings.connect, timings.tls) == (None, None, None)
    if timings.failed_in:
        after = PHASES[PHASES.index(timings.failed_in) + 1 :]
        assert all(timings.phase(name) is None for name in after)
    round_trip = Timings.from_dict(json.loads(json.dumps(timings.to_dict())))
    assert round_trip == timings


# HAR ----------------------------------------------------------------------------------------

optional_ms = st.none() | st.floats(min_value=0, max_value=1e6, allow_nan=False)


@st.composite
def stored_timings(draw: st.DrawFn) -> Timings:
    phases = {name: draw(optional_ms) for name in PHASES if name != "blocked"}
    blocked = draw(st.floats(min_value=0, max_value=1e4, allow_nan=False))
    total = blocked + sum(v for v in phases.values() if v is not None)
    failed_in = draw(st.sampled_from(["", *PHASES[1:]]))
    return Timings(
        total=total,
        blocked=blocked,
        **phases,
        reused=draw(st.booleans()),
        failed_in=failed_in,
    )


def har_valid(document: dict) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(document)]


@given(timings=stored_timings(), hops=st.integers(min_value=1, max_value=4))
def test_every_har_entry_with_measured_phases_is_valid_har(timings: Timings, hops: int) -> None:
    hop = HopFacts(
        timings=timings,
        connection=ConnectionFacts(remote_address="2001:db8::1", remote_port=443, local_port=5),
        status=200,
    )
    attempt = an_attempt(
        hops=[hop.to_dict()] * hops,
        redirects=[[302, "https://h.example/next"]] * (hops - 1),
    )
    entry = entry_of(attempt=attempt)
    document = as_document(entry)
    assert har_valid(document) == []
    assert har_problems(document) == []
    har = entry["timings"]
    for name, ours in (("dns", timings.dns), ("ssl", timings.tls), ("blocked", timings.blocked)):
        assert har[name] == (-1 if ours is None else round(ours, 3))
    if timings.connect is None and timings.tls is None:
        assert har["connect"] == -1
    else:  # HAR's connect includes the TLS handshake
        both = (timings.connect or 0) + (timings.tls or 0)
        assert har["connect"] == pytest.approx(both, abs=1e-3)
    assert entry["time"] == pytest.approx(timings.total, abs=TOLERANCE_MS)
    assert entry["serverIPAddress"] == "2001:db8::1" and entry["connection"] == "5"
    assert [r["timings"]["dns"] for r in entry.get("_redirects", [])] == [har["dns"]] * (hops - 1)


def test_an_entry_without_measured_phases_is_valid_har_too() -> None:
    entry = entry_of(attempt=an_attempt(hops=[]))
    assert har_valid(as_document(entry)) == []
    assert entry["timings"]["wait"] == entry["time"] == 42.5
    assert "serverIPAddress" not in entry


def test_the_schema_refuses_what_har_does_not_allow() -> None:
    """The schema must fail on broken entries, or validating against it proves nothing."""
    entry = entry_of()
    entry["timings"]["send"] = -1
    entry["timings"]["dns"] = -0.5
    entry["serverIPAddress"] = "not an address"
    entry["extra"] = True
    del entry["response"]["redirectURL"]
    messages = " | ".join(har_valid(as_document(entry)))
    assert "-1 is less than the minimum of 0" in messages  # send
    assert "-0.5 is not valid" in messages  # dns: -1 or a duration
    assert "'not an address' is not valid" in messages
    assert "'extra' does not match any of the regexes: '^_'" in messages
    assert "'redirectURL' is a required property" in messages


def test_the_har_comment_says_which_phases_did_not_happen() -> None:
    timings = Timings(total=12.0, blocked=1.0, dns=1.0, connect=10.0, failed_in="connect")
    har = exports.har_timings_of(timings)
    assert (har["send"], har["wait"], har["receive"], har["ssl"]) == (0, 0, 0, -1)
    assert "send, wait, receive did not happen" in str(har["comment"])
    assert har["_failedIn"] == "connect"
    assert exports.har_time(har) == 12.0
