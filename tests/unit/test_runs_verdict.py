"""The run page's verdict (apps/runs/verdict.py) over every recorded exchange: one fitting
primary action, never one that cannot help."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from apps.diagnosis.results import Diagnosis
from apps.runs.verdict import AUTH_STATUSES, Verdict, decide, what_happened
from tests.unit.test_diagnosis_diagnose_exchanges import FILES, diagnosis_of, load

FINISHED = datetime(2026, 12, 5, 10, 30, tzinfo=UTC)


def verdict_of(path: Path, *, idempotent: bool = True) -> tuple[Diagnosis, Verdict]:
    data, exchange = load(path)
    diagnosis = diagnosis_of(data, exchange)
    verdict = decide(
        diagnosis=diagnosis,
        host="api.example",
        finished_at=FINISHED,
        duration_ms=182.4,
        idempotent=idempotent,
        has_earlier=False,
    )
    return diagnosis, verdict


def fixture(name: str) -> Path:
    return next(path for path in FILES if path.stem == name)


@pytest.mark.parametrize("idempotent", [True, False], ids=["GET", "POST"])
@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_it_never_offers_an_action_that_cannot_help(path: Path, idempotent: bool) -> None:
    diagnosis, verdict = verdict_of(path, idempotent=idempotent)
    if not idempotent:
        assert verdict.primary not in ("retry_at", "back_off")
    offered = [verdict.primary, *verdict.secondary]
    if diagnosis.status not in AUTH_STATUSES:
        assert "reauthenticate" not in offered
    if diagnosis.severity == "ok":
        assert verdict.primary == ""
    else:
        assert verdict.primary, "a problem always gets one action"
    assert verdict.primary not in verdict.secondary
    assert len(set(offered)) == len(offered)
    assert len(verdict.evidence) <= 2


@pytest.mark.parametrize(
    ("name", "primary"),
    [
        ("sandbox-kaiko-401-no-key", "reauthenticate"),
        ("sandbox-kaiko-401-key-rejected", "reauthenticate"),
        ("sandbox-kaiko-403-no-entitlement", "request_access"),
        ("sandbox-kaiko-400-interval", "fix_request"),
        ("network-tls-certificate-expired", "check_certificate"),
        ("network-tls-self-signed", "check_certificate"),
        ("network-connection-refused", "retry_now"),
        ("sandbox-kaiko-429-burst", "retry_at"),
    ],
)
def test_it_picks_the_action_that_fits(name: str, primary: str) -> None:
    _diagnosis, verdict = verdict_of(fixture(name))
    assert verdict.primary == primary


def test_a_429_says_when_to_retry() -> None:
    diagnosis, verdict = verdict_of(fixture("sandbox-kaiko-429-burst"))
    assert diagnosis.wait_seconds is not None
    assert verdict.retry_at == FINISHED + timedelta(seconds=diagnosis.wait_seconds)


def test_once_the_wait_is_over_a_retry_now_fits() -> None:
    data, exchange = load(fixture("sandbox-kaiko-429-burst"))
    diagnosis = diagnosis_of(data, exchange)
    assert diagnosis.wait_seconds is not None
    later = FINISHED + timedelta(seconds=diagnosis.wait_seconds + 1)
    verdict = decide(
        diagnosis=diagnosis,
        host="api.example",
        finished_at=FINISHED,
        duration_ms=1.0,
        idempotent=True,
        has_earlier=False,
        now=later,
    )
    assert verdict.primary == "retry_now" and verdict.retry_at is None
    assert "retry_now" not in verdict.secondary


def test_a_post_is_not_retried_with_backoff() -> None:
    _diagnosis, verdict = verdict_of(fixture("sandbox-kaiko-429-burst"), idempotent=False)
    assert verdict.primary not in ("retry_at", "back_off")
    assert verdict.retry_at is None


def test_the_evidence_is_the_top_cause_s() -> None:
    diagnosis, verdict = verdict_of(fixture("sandbox-kaiko-401-no-key"))
    assert diagnosis.top_cause is not None
    assert verdict.evidence
    assert all(line in diagnosis.top_cause.evidence for line in verdict.evidence)


def test_no_evidence_line_repeats_the_sentence() -> None:
    diagnosis, verdict = verdict_of(fixture("network-connection-refused"))
    assert diagnosis.failure_message and diagnosis.failure_message.rstrip(".") in verdict.sentence
    assert not verdict.sentence.endswith("..")
    assert all(line.value.rstrip(".") not in verdict.sentence for line in verdict.evidence)


@pytest.mark.parametrize(
    ("status", "reason", "failure", "expected"),
    [
        (401, "Unauthorized", None, "api.example answered 401 Unauthorized in 12 ms."),
        (
            None,
            None,
            "Connection refused",
            "No response from api.example in 12 ms: Connection refused.",
        ),
    ],
)
def test_it_says_what_happened_in_one_sentence(
    status: int | None, reason: str | None, failure: str | None, expected: str
) -> None:
    sentence = what_happened(
        host="api.example", status=status, reason=reason, failure=failure, ms=12.2
    )
    assert sentence == expected
