"""The diagnosis reads the phase timings and the TLS facts (apps/diagnosis/timing.py),
through the project's diagnose()."""

from typing import Any, cast

import pytest

from apps.diagnosis.diagnose import diagnose
from apps.diagnosis.lookups import get_profile
from apps.diagnosis.results import Diagnosis
from apps.diagnosis.timing import EXPIRY_WARNING_DAYS, SLOW_MS, with_timing
from apps.egress.types import (
    Certificate,
    Exchange,
    Failure,
    FailureKind,
    HopFacts,
    Response,
    Timings,
    TlsFacts,
)

GENERIC = get_profile("http")


def certificate(**fields: object) -> Certificate:
    defaults: dict[str, object] = {
        "subject": "CN=api.example.test",
        "common_name": "api.example.test",
        "names": ["api.example.test", "www.example.test"],
        "issuer": "CN=Example Issuing CA,O=Example",
        "issuer_common_name": "Example Issuing CA",
        "not_before": "2026-01-01T00:00:00+00:00",
        "not_after": "2027-01-01T00:00:00+00:00",
        "days_left": 300,
        "key_type": "RSA",
        "key_bits": 2048,
        "serial": "1f",
        "sha256": "ab" * 32,
        "self_issued": False,
    }
    return Certificate(**{**defaults, **fields})  # type: ignore[arg-type]


def timings(**phases: float | None) -> Timings:
    total = sum(v for v in phases.values() if isinstance(v, float | int))
    # `phases` holds Timings' phase fields only (all floats); mypy cannot tell them apart.
    return Timings(total=total, blocked=0.0, **cast(dict[str, Any], phases))


def answered(hop_timings: Timings, leaf: Certificate | None = None) -> Exchange:
    tls = TlsFacts(protocol="TLSv1.3", cipher="X", chain=[leaf]) if leaf else None
    return Exchange(
        method="GET",
        url="https://api.example.test/v1",
        request_headers=[],
        response=Response(status=200, reason="OK", headers=[], body=b"{}", truncated=False),
        failure=None,
        elapsed_ms=hop_timings.total,
        hops=[HopFacts(timings=hop_timings, tls=tls, status=200)],
    )


def failed(kind: FailureKind, detail: str, hop: HopFacts) -> Exchange:
    return Exchange(
        method="GET",
        url="https://api.example.test/v1",
        request_headers=[],
        response=None,
        failure=Failure(kind, "It failed.", detail),
        elapsed_ms=hop.timings.total,
        hops=[hop],
    )


def codes(diagnosis: Diagnosis) -> list[str]:
    return [cause.code for cause in diagnosis.causes]


def notes(diagnosis: Diagnosis) -> str:
    return " ".join(line.note for cause in diagnosis.causes for line in cause.evidence)


@pytest.mark.parametrize(
    ("phase", "code"),
    [
        ("dns", "timing.slow_dns"),
        ("connect", "timing.slow_connect"),
        ("tls", "timing.slow_tls"),
        ("wait", "timing.slow_first_byte"),
        ("receive", "timing.slow_download"),
    ],
)
def test_a_slow_phase_is_named_and_the_answer_keeps_its_own_code(phase: str, code: str) -> None:
    quick = {"dns": 2.0, "connect": 5.0, "tls": 10.0, "send": 1.0, "wait": 50.0, "receive": 3.0}
    slow = {**quick, phase: SLOW_MS[phase] + 500}
    diagnosis = diagnose(answered(timings(**slow)), GENERIC)
    assert codes(diagnosis) == [code]
    assert diagnosis.code == "http.200" and diagnosis.severity == "ok"
    assert diagnosis.causes[0].evidence[0].source == "timing"
    assert diagnosis.causes[0].evidence[0].name == phase
    quick_one = diagnose(answered(timings(**quick)), GENERIC)
    assert codes(quick_one) == []


def test_slow_first_byte_and_slow_download_are_told_apart() -> None:
    first_byte = diagnose(answered(timings(send=1.0, wait=6000.0, receive=20.0)), GENERIC)
    download = diagnose(answered(timings(send=1.0, wait=40.0, receive=6000.0)), GENERIC)
    assert codes(first_byte) == ["timing.slow_first_byte"]
    assert codes(download) == ["timing.slow_download"]
    assert "server's own work" in first_byte.causes[0].explanation
    assert "Ask for less" in download.causes[0].explanation


@pytest.mark.parametrize(
    ("days_left", "warned"),
    [(0, True), (5, True), (EXPIRY_WARNING_DAYS - 1, True), (EXPIRY_WARNING_DAYS, False)],
)
def test_a_certificate_expiring_soon_is_a_warning(days_left: int, warned: bool) -> None:
    leaf = certificate(days_left=days_left, not_after="2026-12-10T00:00:00+00:00")
    diagnosis = diagnose(answered(timings(send=1.0, wait=5.0, receive=1.0), leaf), GENERIC)
    assert ("tls.expires_soon" in codes(diagnosis)) is warned
    assert diagnosis.severity == ("warning" if warned else "ok")
    if warned:
        assert "2026-12-10" in diagnosis.causes[0].explanation
        assert diagnosis.code == "http.200"  # the answer is still a 200


def tls_failure(detail: str, leaf: Certificate) -> Exchange:
    hop = HopFacts(
        timings=Timings(total=20.0, blocked=0, dns=1, connect=4, tls=15, failed_in="tls"),
        tls=TlsFacts(protocol="TLSv1.3", verified=False, chain=[leaf]),
    )
    return failed(FailureKind.TLS, detail, hop)


def test_an_expired_certificate_names_its_date() -> None:
    leaf = certificate(not_after="2026-11-05T12:00:00+00:00", days_left=-30)
    diagnosis = diagnose(tls_failure("certificate_expired", leaf), GENERIC)
    assert diagnosis.code == "network.tls.certificate_expired"
    assert "expired on 2026-11-05, 30 days ago" in notes(diagnosis)


def test_a_wrong_host_lists_the_names_of_the_certificate() -> None:
    leaf = certificate(names=["wrong.example", "*.wrong.example"])
    diagnosis = diagnose(tls_failure("hostname_mismatch", leaf), GENERIC)
    assert "valid only for: wrong.example, *.wrong.example" in notes(diagnosis)


def test_an_unknown_issuer_is_named_and_a_self_signed_one_said_so() -> None:
    unknown = diagnose(tls_failure("untrusted_issuer", certificate()), GENERIC)
    assert "issued by Example Issuing CA, an authority this worker does not trust" in notes(unknown)
    own = certificate(issuer="CN=me", issuer_common_name="me", self_issued=True)
    self_signed = diagnose(tls_failure("self_signed", own), GENERIC)
    assert "signed by itself (me)" in notes(self_signed)


def test_a_timeout_says_in_which_phase_it_struck() -> None:
    spent = Timings(
        total=10013.0, blocked=0, dns=1.0, connect=12.0, send=0.5, wait=9999.5, failed_in="wait"
    )
    diagnosis = diagnose(failed(FailureKind.READ_TIMEOUT, "no_answer", HopFacts(spent)), GENERIC)
    phase = [line for c in diagnosis.causes for line in c.evidence if line.name == "phase"]
    assert [line.value for line in phase] == ["wait"]
    assert phase[0].note == (
        "Connected in 13 ms (DNS lookup 1.0 ms, TCP connect 12 ms), then no byte for 10.0 s: "
        "the server accepted the request and did not answer."
    )


def test_a_connect_timeout_names_the_connect_phase() -> None:
    hop = HopFacts(timings=Timings(total=5003, blocked=0, dns=3, connect=5000, failed_in="connect"))
    diagnosis = diagnose(failed(FailureKind.CONNECT_TIMEOUT, "", hop), GENERIC)
    assert "DNS lookup 3.0 ms, then the TCP connect did not finish in 5.0 s" in notes(diagnosis)


def test_without_hops_the_diagnosis_is_unchanged() -> None:
    exchange = answered(timings(wait=9000.0))
    bare = Exchange(**{**exchange.__dict__, "hops": []})
    base = diagnose(bare, GENERIC)
    assert with_timing(base, bare) == base
    assert codes(base) == []
