"""diagnose() over recorded, realistic exchanges: one fixture per diagnosis and cause.

Each file of tests/fixtures/exchanges/ holds an exchange (request; response or failure) and
what its diagnosis must say (`expect`). The `sandbox-*` files were recorded from the
built-in sandbox (record_sandbox.py); the others are written after documented or commonly
seen behaviour of Kaiko, other HTTP APIs, proxies and the network. See README.md there.
"""

import base64
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from apps.diagnosis import lookups
from apps.diagnosis.diagnose import diagnose
from apps.diagnosis.results import Cause, Diagnosis, DiagnosisContext
from apps.egress.redaction import is_secret_header, is_secret_param
from apps.egress.types import Exchange, Failure, FailureKind, Response
from tests.unit.test_diagnosis_diagnose_corpus import load_corpus

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exchanges"
FILES = sorted(FIXTURES.glob("*.json"))


class RecordedExchange(Exchange):
    """An Exchange as the egress client may soon record it, with its redirect hops."""

    redirects: list[tuple[int, str]]


def load(path: Path) -> tuple[dict[str, Any], Exchange]:
    data = json.loads(path.read_text(encoding="utf-8"))
    raw = data["exchange"]
    response = None
    if "response" in raw:
        r = raw["response"]
        body = base64.b64decode(r["body_base64"]) if "body_base64" in r else r["body"].encode()
        response = Response(
            status=r["status"],
            reason=r.get("reason", ""),
            headers=[tuple(pair) for pair in r["headers"]],
            body=body,
            truncated=r.get("truncated", False),
            http_version=r.get("http_version", "HTTP/1.1"),
        )
    failure = None
    if "failure" in raw:
        f = raw["failure"]
        failure = Failure(kind=FailureKind(f["kind"]), message=f["message"], detail=f["detail"])
    exchange = Exchange(
        method=raw["method"],
        url=raw["url"],
        request_headers=[tuple(pair) for pair in raw["request_headers"]],
        response=response,
        failure=failure,
        elapsed_ms=raw.get("elapsed_ms", 0.0),
    )
    if "redirects" in raw:
        # Exchange may not have the field yet: the rules read it with getattr.
        object.__setattr__(exchange, "redirects", [tuple(hop) for hop in raw["redirects"]])
    return data, exchange


def diagnosis_of(data: dict[str, Any], exchange: Exchange) -> Diagnosis:
    profile = (
        lookups.get_profile(data["profile"])
        if "profile" in data
        else lookups.profile_for_url(exchange.url)
    )
    context = DiagnosisContext(**data.get("context", {}))
    if "now" in data:
        context = DiagnosisContext(
            **{**data.get("context", {}), "now": datetime.fromisoformat(data["now"])}
        )
    return diagnose(exchange, profile, context=context)


def lines_of(cause: Cause) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for line in cause.evidence:
        found.setdefault(f"{line.source}:{line.name}", []).append(line)
    return found


def sent_secrets(exchange: Exchange) -> list[str]:
    """The credential values the request carried, by the names that mark them."""
    from urllib.parse import parse_qsl, urlsplit

    values = [v for k, v in exchange.request_headers if is_secret_header(k) and len(v) >= 6]
    values += [
        v for k, v in parse_qsl(urlsplit(exchange.url).query) if is_secret_param(k) and len(v) >= 6
    ]
    return values


def test_there_is_a_fixture_for_every_diagnosis_of_the_issue() -> None:
    codes = {json.loads(p.read_text())["expect"]["code"] for p in FILES}
    codes |= {case.data["expect"] for case in load_corpus()}
    required = {
        "kaiko.401.no_key",
        "kaiko.401.key_rejected",
        "kaiko.401.key_in_query",
        "kaiko.401.key_in_authorization",
        "kaiko.401.entitlement",
        "kaiko.403.no_entitlement",
        "kaiko.403.outside_access_range",
        "kaiko.400.param.interval",
        "kaiko.400.param.page_size",
        "kaiko.400.param.start_time",
        "kaiko.400.param.sort",
        "kaiko.400.other",
        "kaiko.404.path",
        "kaiko.404.exchange",
        "kaiko.404.instrument",
        "kaiko.404.instrument_class",
        "kaiko.405.method",
        "kaiko.406.accept",
        "kaiko.429.burst",
        "kaiko.429.sustained",
        "kaiko.500.transient",
        "kaiko.503.maintenance",
        "kaiko.503.transient",
        "http.5xx.gateway",
        "http.5xx.transient",
        "http.503.maintenance",
        "http.401.no_key",
        "http.401.key_rejected",
        "http.400.param.other",
        "http.429.burst",
        "network.dns.no_such_host",
        "network.dns.resolution_failed",
        "network.connection_refused",
        "network.connection_reset",
        "network.connect_timeout",
        "network.read_timeout",
        "network.read_timeout.no_answer",
        "network.tls.certificate_expired",
        "network.tls.self_signed",
        "network.tls.hostname_mismatch",
        "network.tls.untrusted_issuer",
        "network.too_many_redirects.loop",
        "network.too_many_redirects.limit",
        "network.response_too_large.headers",
        "network.response_too_large.compressed_body",
        "network.response_too_large.encoding_layers",
        "network.blocked.private_address",
    }
    assert required <= codes, sorted(required - codes)
    bodies = {json.loads(p.read_text())["expect"].get("body_format") for p in FILES}
    assert {"RFC 9457 problem details", "HTML page", "plain text"} <= bodies


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_it_diagnoses_the_recorded_exchange(path: Path) -> None:
    data, exchange = load(path)
    expect = data["expect"]
    diagnosis = diagnosis_of(data, exchange)

    assert diagnosis.code == expect["code"], [c.code for c in diagnosis.causes]
    assert diagnosis.code != "diagnosis.unavailable"
    if "entry_code" in expect:
        assert diagnosis.entry_code == expect["entry_code"]
    if "causes" in expect:
        assert [c.code for c in diagnosis.causes] == expect["causes"]
    if "likelihoods" in expect:
        assert [c.likelihood for c in diagnosis.causes] == expect["likelihoods"]
    if diagnosis.causes:
        top = diagnosis.causes[0]
        assert top.code == diagnosis.code
        assert top.likelihood == "likely"
        assert top.evidence, "every cause shows its evidence"
        assert top.playbooks
        for slug in top.playbooks:
            lookups.get_playbook(slug)
        found = lines_of(top)
        for wanted in expect.get("evidence", []):
            assert wanted in found, f"{wanted} not in {sorted(found)}"
        for wanted, value in expect.get("evidence_values", {}).items():
            assert value in [line.value for line in found[wanted]], found[wanted]
        for wanted, text in expect.get("note_contains", {}).items():
            assert any(text in line.note for line in found[wanted]), found[wanted]
        for text in expect.get("evidence_value_contains", []):
            assert any(text in line.value for line in top.evidence)
        for cause in diagnosis.causes:
            for line in cause.evidence:
                assert line.source in (
                    "status", "header", "body", "param", "request_header", "request",
                    "timing", "failure", "history",
                )  # fmt: skip
                assert line.name and len(line.value) <= 240
    if "wait_seconds" in expect:
        assert diagnosis.wait_seconds == expect["wait_seconds"]
    if "wait_source" in expect:
        assert diagnosis.wait_source == expect["wait_source"]
    if "quota" in expect:
        if expect["quota"] == {}:
            assert diagnosis.quota == {}
        for key, value in expect["quota"].items():
            assert diagnosis.quota[key] == value, diagnosis.quota
    for key in ("retryable", "auto_retry", "body_format"):
        if key in expect:
            assert getattr(diagnosis, key) == expect[key]
    if "playbooks" in expect:
        assert diagnosis.playbooks[: len(expect["playbooks"])] == expect["playbooks"]
    for slug in expect.get("not_playbooks", []):
        assert slug not in diagnosis.playbooks
    for text in expect.get("retry_reason_contains", []):
        assert text in diagnosis.retry_reason
    if diagnosis.retryable:
        assert diagnosis.retry_reason.startswith("Retrying can help")
    elif diagnosis.severity in ("warning", "error"):
        assert diagnosis.retry_reason.startswith("Retrying the same request cannot help")

    stored = json.dumps(diagnosis.to_dict())
    for secret in [*expect.get("secrets", []), *sent_secrets(exchange)]:
        assert secret not in stored
    assert Diagnosis.from_dict(json.loads(stored)) == diagnosis
