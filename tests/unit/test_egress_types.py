"""The shared types of outbound HTTP (apps.egress.types): responses, exchanges, and the
facts of each hop stored as dicts and read back whatever the dict holds."""

import json
from typing import Any

import pytest

from apps.egress.types import (
    FAILURE_DETAILS,
    PHASES,
    Certificate,
    ConnectionFacts,
    Exchange,
    Failure,
    FailureKind,
    HopFacts,
    Response,
    Timings,
    TlsFacts,
)

LEAF: dict[str, Any] = {
    "subject": "CN=api.example.com",
    "common_name": "api.example.com",
    "names": ["api.example.com", "127.0.0.1"],
    "issuer": "CN=Example CA",
    "issuer_common_name": "Example CA",
    "not_before": "2025-01-01T00:00:00+00:00",
    "not_after": "2025-04-01T00:00:00+00:00",
    "days_left": -3,
    "key_type": "EC",
    "key_bits": 256,
    "serial": "0a",
    "sha256": "ab" * 32,
    "self_issued": False,
}


def response(headers: list[tuple[str, str]]) -> Response:
    return Response(status=200, reason="OK", headers=headers, body=b"", truncated=False)


def test_a_header_is_found_by_any_case_first_value_first() -> None:
    answer = response([("Set-Cookie", "a=1"), ("set-cookie", "b=2")])
    assert answer.header("SET-COOKIE") == "a=1"
    assert answer.header("X-Missing") is None


@pytest.mark.parametrize(
    ("headers", "content_type"),
    [
        ([("Content-Type", "Application/JSON; charset=utf-8")], "application/json"),
        ([("content-type", "  text/html ")], "text/html"),
        ([], ""),
    ],
)
def test_the_content_type_has_no_parameters(
    headers: list[tuple[str, str]], content_type: str
) -> None:
    assert response(headers).content_type == content_type


def test_an_exchange_has_a_response_or_a_failure_never_both_nor_neither() -> None:
    failure = Failure(kind=FailureKind.DNS, message="no such host")
    with pytest.raises(ValueError):
        Exchange("GET", "https://h/", [], response([]), failure, 1.0)
    with pytest.raises(ValueError):
        Exchange("GET", "https://h/", [], None, None, 1.0)
    failed = Exchange("GET", "https://h/", [], None, failure, 1.0)
    assert failed.final_hop is None


def test_the_final_hop_is_the_last_one() -> None:
    first, last = HopFacts(Timings(total=1.0), status=302), HopFacts(Timings(total=2.0))
    exchange = Exchange("GET", "https://h/", [], response([]), None, 3.0, hops=[first, last])
    assert exchange.final_hop is last


def test_timings_name_their_phases_and_nothing_else() -> None:
    timings = Timings(total=10.0, dns=1.5, wait=8.5)
    assert [timings.phase(name) for name in PHASES] == [None, 1.5, None, None, None, 8.5, None]
    with pytest.raises(KeyError):
        timings.phase("total")


def test_timings_are_read_back_from_any_dict() -> None:
    assert Timings.from_dict({"dns": 1}) is None
    assert Timings.from_dict({"total": "10"}) is None
    assert Timings.from_dict([1]) is None
    read = Timings.from_dict({"total": 10, "dns": "1", "wait": 4, "reused": 1, "failed_in": None})
    assert read == Timings(total=10.0, wait=4.0, reused=True)


def test_a_certificate_tells_how_long_ago_it_expired() -> None:
    expired = Certificate.from_dict(LEAF)
    assert expired is not None and expired.days_expired == 3
    valid = Certificate.from_dict({**LEAF, "days_left": 30})
    assert valid is not None and valid.days_expired == 0


def test_a_certificate_is_read_back_from_any_dict() -> None:
    assert Certificate.from_dict("CN=x") is None
    odd = Certificate.from_dict({"names": "h", "days_left": "5", "key_bits": 2.5})
    assert odd is not None
    assert (odd.names, odd.days_left, odd.key_bits, odd.subject) == ([], 0, None, "")


def test_tls_facts_round_trip_and_keep_only_readable_certificates() -> None:
    facts = TlsFacts.from_dict(
        {"protocol": "TLSv1.3", "verified": False, "chain": [LEAF, "junk", {**LEAF}]}
    )
    assert facts is not None
    assert len(facts.chain) == 2 and facts.leaf == facts.chain[0]
    assert facts.verified is False
    assert TlsFacts.from_dict(json.loads(json.dumps(facts.to_dict()))) == facts
    assert TlsFacts().leaf is None
    assert TlsFacts.from_dict({}) == TlsFacts()  # verified unless it says not
    assert TlsFacts.from_dict(None) is None


def test_connection_facts_need_an_address_and_count_only_integers() -> None:
    assert ConnectionFacts.from_dict({"remote_port": 443}) is None
    read = ConnectionFacts.from_dict(
        {"remote_address": "2001:db8::1", "remote_port": "443", "bytes_sent": 12, "reused": 1}
    )
    assert read == ConnectionFacts(
        remote_address="2001:db8::1", remote_port=0, bytes_sent=12, reused=True
    )


def test_hop_facts_round_trip_through_json() -> None:
    hop = HopFacts(
        timings=Timings(total=5.0, connect=1.0),
        connection=ConnectionFacts(remote_address="192.0.2.1", remote_port=443),
        tls=TlsFacts(protocol="TLSv1.3", chain=[Certificate(**LEAF)]),
        status=200,
    )
    assert HopFacts.from_dict(json.loads(json.dumps(hop.to_dict()))) == hop
    bare = HopFacts(timings=Timings(total=1.0))
    assert bare.to_dict()["connection"] is None and bare.to_dict()["tls"] is None
    assert HopFacts.from_dict(bare.to_dict()) == bare


@pytest.mark.parametrize("data", [None, [], {}, {"timings": {"dns": 1}}])
def test_hop_facts_without_timings_are_none(data: object) -> None:
    assert HopFacts.from_dict(data) is None


def test_a_hops_status_is_kept_only_when_it_is_a_number() -> None:
    read = HopFacts.from_dict({"timings": {"total": 1}, "status": "200"})
    assert read is not None and read.status is None


def test_every_failure_kind_lists_its_details() -> None:
    assert set(FAILURE_DETAILS) == set(FailureKind)
