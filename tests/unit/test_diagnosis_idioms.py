"""The idioms real APIs use (apps.diagnosis.idioms): the challenges of WWW-Authenticate."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.diagnosis.idioms import challenges


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            'Bearer realm="x", error="invalid_token"',
            [("Bearer", {"realm": "x", "error": "invalid_token"})],
        ),
        (
            'Basic realm="a", Bearer error="insufficient_scope", scope="read"',
            [
                ("Basic", {"realm": "a"}),
                ("Bearer", {"error": "insufficient_scope", "scope": "read"}),
            ],
        ),
        ("Negotiate", [("Negotiate", {})]),
    ],
)
def test_it_parses_www_authenticate(value: str, expected: list[Any]) -> None:
    assert challenges(value) == expected


@settings(max_examples=200, deadline=None)
@given(value=st.text(max_size=200))
def test_it_parses_any_challenge_without_failing(value: str) -> None:
    assert isinstance(challenges(value), list)
