"""What a diagnosis says, as plain data (apps.diagnosis.results): Diagnosis, Cause, Evidence
and Fix, stored as dicts and read back from the dicts of any version."""

import json
from typing import Any

import pytest

from apps.diagnosis.results import POSSIBLE, Cause, Diagnosis, Evidence, Fix

REQUIRED: dict[str, Any] = {
    "code": "kaiko.429.burst",
    "severity": "warning",
    "title": "Too fast",
    "profile": "kaiko",
    "profile_name": "Kaiko market-data API",
}


def test_it_reads_a_dict_stored_by_the_first_version() -> None:
    version_1 = {
        "version": 1,
        "code": "kaiko.429",
        "severity": "warning",
        "title": "Rate limit reached",
        "profile": "kaiko",
        "profile_name": "Kaiko market-data API",
        "api_name": "Kaiko",
        "status": 429,
        "playbooks": ["back-off"],
        "retryable": True,
        "retry_after_seconds": 30,
        "retry_hint": "Retrying can help.",
    }
    diagnosis = Diagnosis.from_dict(version_1)
    assert diagnosis.code == "kaiko.429" and diagnosis.causes == []
    assert diagnosis.entry_code == "" and diagnosis.wait_seconds is None
    assert diagnosis.quota == {} and diagnosis.auto_retry is False


def test_a_full_diagnosis_round_trips_through_json() -> None:
    fix = Fix(kind="set_header", summary="Ask for JSON.", changes={"header": "Accept"})
    cause = Cause(
        code="kaiko.429.burst",
        title="Too fast",
        evidence=[Evidence(source="header", name="Retry-After", value="5", note="wait")],
        playbooks=["back-off"],
        retryable=True,
        fix=fix,
    )
    diagnosis = Diagnosis(**REQUIRED, status=429, causes=[cause], quota={"limit": 2})
    stored = json.loads(json.dumps(diagnosis.to_dict()))
    assert stored["version"] == Diagnosis.SCHEMA_VERSION
    assert Diagnosis.from_dict(stored) == diagnosis
    assert diagnosis.top_cause == cause
    assert Diagnosis(**REQUIRED).top_cause is None


def test_it_drops_malformed_parts_and_keeps_the_rest() -> None:
    stored = {
        **REQUIRED,
        "playbooks": None,
        "retryable": 1,
        "causes": {"not": "a list"},
        "quota": "nope",
        "added_later": True,
    }
    diagnosis = Diagnosis.from_dict(stored)
    assert diagnosis.playbooks == [] and diagnosis.retryable is True
    assert diagnosis.causes == [] and diagnosis.quota == {}


def test_a_cause_needs_a_code() -> None:
    assert Cause.from_dict({"title": "no code"}) is None
    assert Cause.from_dict("nonsense") is None
    cause = Cause.from_dict(
        {"code": "x.1", "likelihood": "certain", "retryable": "yes", "playbooks": "back-off"}
    )
    assert cause == Cause(code="x.1", title="", likelihood=POSSIBLE)


def test_evidence_is_read_as_text() -> None:
    assert Evidence.from_dict({"source": "status", "name": "status", "value": 429}) == Evidence(
        source="status", name="status", value="429"
    )
    assert Evidence.from_dict(["status"]) is None


@pytest.mark.parametrize(
    "data", [None, {}, {"kind": "run_a_script", "summary": "x"}, ["set_header"]]
)
def test_a_fix_of_an_unknown_kind_is_dropped(data: object) -> None:
    assert Fix.from_dict(data) is None


def test_a_fix_is_for_the_same_host_unless_it_says_otherwise() -> None:
    fix = Fix.from_dict({"kind": "use_url", "changes": {"url": 5}})
    assert fix == Fix(kind="use_url", summary="", changes={"url": "5"}, same_host=True)
    moved = Fix.from_dict({"kind": "use_url", "changes": [1], "same_host": False})
    assert moved is not None and moved.same_host is False and moved.changes == {}
