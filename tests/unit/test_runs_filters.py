"""The team log's filters (apps.runs.filters): read from the query string into typed
filters, a bad value refused at its field, and the keyset cursor of a page."""

import base64
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.http import QueryDict

from apps.runs.filters import (
    EARLIEST,
    LATEST,
    Cursor,
    LogFilters,
    diagnosis_codes,
    filter_query,
    in_bounds,
    parse_filters,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_no_filter_is_empty_and_any_one_is_not() -> None:
    assert LogFilters().is_empty
    assert not LogFilters(status=404).is_empty
    assert not LogFilters(since=NOW).is_empty


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (EARLIEST, True),
        (LATEST - timedelta(microseconds=1), True),
        (LATEST, False),
        (EARLIEST - timedelta(seconds=1), False),
        (datetime.max.replace(tzinfo=timezone(-timedelta(hours=23))), False),
    ],
)
def test_a_moment_is_in_bounds_or_not_never_an_error(moment: datetime, inside: bool) -> None:
    assert in_bounds(moment) is inside


def test_the_filter_query_keeps_only_non_empty_filters() -> None:
    data = QueryDict("q=+ohlcv+&status=&before=abc&live=1&host=h.test&unknown=x")
    assert filter_query(data).dict() == {"q": "ohlcv", "host": "h.test"}


def test_valid_filters_are_read_and_normalised() -> None:
    form, filters = parse_filters(
        QueryDict(
            "q=ohlcv&class=4xx&status=429&diagnosis=+Kaiko.401+&method=post&host=API.Test"
            "&member=alice&since=2025-06-01T10:00&until=2025-06-01T11:00"
        )
    )
    assert form.errors == {}
    assert filters == LogFilters(
        status_class="4xx",
        status=429,
        diagnosis="kaiko.401",
        method="POST",
        host="api.test",
        member="alice",
        since=datetime(2025, 6, 1, 10, 0, tzinfo=UTC),
        until=datetime(2025, 6, 1, 11, 0, tzinfo=UTC),
        text="ohlcv",
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("q=ab", "q"),
        ("status=99", "status"),
        ("diagnosis=kaiko..401", "diagnosis"),
        ("class=6xx", "class"),
        ("since=1900-01-01T00:00", "since"),
        ("since=2025-06-01T11:00&until=2025-06-01T10:00", "until"),
        ("range=1h&since=2025-06-01T10:00", "range"),
    ],
)
def test_a_bad_value_is_refused_at_its_field_and_left_out(query: str, field: str) -> None:
    form, filters = parse_filters(QueryDict(f"{query}&host=kept.test"))
    assert field in form.errors
    assert filters.host == "kept.test"
    assert getattr(filters, {"q": "text", "class": "status_class"}.get(field, field), None) in (
        None,
        "",
    )


def test_a_range_counts_back_from_now() -> None:
    form, _ = parse_filters(QueryDict("range=24h"))
    filters = form.filters(now=NOW)
    assert (filters.since, filters.until) == (NOW - timedelta(hours=24), None)


def test_a_member_must_be_one_of_the_team_when_the_team_is_given() -> None:
    form, filters = parse_filters(QueryDict("member=mallory"), members=["alice", "bob"])
    assert "member" in form.errors and filters.member == ""
    choices = [value for value, _ in form.fields["member"].widget.choices]
    assert choices == ["", "alice", "bob", "mallory"]  # what was asked stays shown


def test_the_diagnosis_codes_are_sorted_and_include_variants_and_causes() -> None:
    codes = [code for code, _ in diagnosis_codes()]
    assert codes == sorted(codes)
    assert {"kaiko.401", "kaiko.401.entitlement", "network.dns"} <= set(codes)


def test_a_cursor_round_trips_through_its_token() -> None:
    cursor = Cursor(created_at=NOW, id=uuid.uuid4())
    token = cursor.encode()
    assert "=" not in token
    assert Cursor.decode(token) == cursor


def _token(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "!!!",
        "x" * 201,
        _token("2025-06-01T12:00:00|not-a-uuid"),
        _token(f"2025-06-01T12:00:00|{uuid.uuid4()}"),  # naive
        _token(f"1900-01-01T00:00:00+00:00|{uuid.uuid4()}"),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_a_token_that_does_not_decode_is_no_cursor(token: str | None) -> None:
    assert Cursor.decode(token) is None
