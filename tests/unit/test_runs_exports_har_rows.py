"""The HAR export's fast paths: rows read as tuples in parts bounded by body bytes, and
bodies left as they are only when the policy's redaction by name would not change them."""

import json

import pytest
from django.contrib.auth.models import User
from hypothesis import given
from hypothesis import strategies as st

from apps.accounts.models import Team
from apps.egress.redaction import redact_body
from apps.runs import exports
from apps.runs.filters import LogFilters
from apps.runs.models import Attempt, Run
from apps.runs.selectors import filtered_runs
from tests.support.factories import finished_run

KEYS = st.sampled_from(
    [
        "api_key", "apiKey", "token", "access-token", "password", "Authorization", "x-csrftoken",
        "session_id", "key", "monkey", "tokens", "keyboard", "data", "message", 'a"b', "sig",
        "é_token", "",
    ]
)  # fmt: skip
SCALARS = st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.none())
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)


@given(
    value=JSON_VALUES,
    ascii_only=st.booleans(),
    mime_type=st.sampled_from(["application/json", "", "text/plain", "application/problem+json"]),
)
def test_a_body_is_shown_as_the_policy_redacts_it(
    value: object, ascii_only: bool, mime_type: str
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert exports._body_text(text, mime_type) == redact_body(text, mime_type)[0]


@pytest.mark.parametrize(
    "text",
    [
        '{"token": "abc"}',
        '{"a": {"password": 1}}',
        '[{"x": 1}, {"api_key": "k"}]',
        '{"t\\u006fken": "v"}',
    ],
)
def test_a_body_with_a_secret_key_is_redacted(text: str) -> None:
    shown = exports._body_text(text, "application/json")
    assert "[redacted]" in shown
    assert shown == redact_body(text, "application/json")[0]


@pytest.mark.django_db
def test_the_latest_attempts_are_read_in_parts_under_the_byte_budget_in_order(
    team: Team, owner: User
) -> None:
    for index in range(7):
        run = finished_run(team, owner, response_body="x" * 100, response_body_bytes=100)
        if index == 3:  # a second, later finished attempt: the one exported
            Attempt.objects.create(
                run=run, number=2, status=Attempt.Status.DONE, response_body_bytes=100
            )
    finished_run(team, owner, run={"outcome": Run.Outcome.PENDING}, status=Attempt.Status.QUEUED)
    runs = filtered_runs(team=team, filters=LogFilters())
    (batch,) = list(exports.run_row_batches(runs))
    parts = list(exports.latest_finished_parts(batch, read_bytes=250))

    assert [run.id for part, _ in parts for run in part] == [run.id for run in batch]
    # Newest first: the pending run (no body), then 100 bytes a run, at most 250 a part.
    assert [len(part) for part, _ in parts] == [3, 2, 2, 1]
    attempts = {run_id: row for _, found in parts for run_id, row in found.items()}
    assert len(attempts) == 7
    assert sorted(row.number for row in attempts.values()) == [1, 1, 1, 1, 1, 1, 2]


@pytest.mark.django_db
def test_the_rows_hold_what_the_models_hold(team: Team, owner: User) -> None:
    """The JSON columns read as text and decoded here are the values the JSONFields give."""
    hops = [{"timings": {"total": 1.5, "wait": 1.25, "reused": True}, "tls": None, "n": [1, 2.0]}]
    finished_run(
        team,
        owner,
        run={"request_headers": [["Accept", "application/json"], ["X-É", "ü \\" + '"']]},
        sent_headers=[["Accept", "application/json"]],
        response_headers=[["Content-Type", "application/json"], ["Date", "today"]],
        redirects=[[302, "https://h.example/next"]],
        hops=hops,
    )
    runs = filtered_runs(team=team, filters=LogFilters())
    (batch,) = list(exports.run_row_batches(runs))
    ((_, attempts),) = list(exports.latest_finished_parts(batch))
    (row,) = attempts.values()
    run = Run.objects.get(pk=batch[0].id)
    attempt = run.attempts.get()
    assert batch[0].request_headers == run.request_headers
    for name in ("sent_headers", "response_headers", "redirects", "hops"):
        assert getattr(row, name) == getattr(attempt, name), name
    assert row.hops == hops
