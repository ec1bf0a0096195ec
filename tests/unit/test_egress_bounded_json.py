"""apps/egress/bounded_json.py: JSON parsed only within depth and size limits, its depth
measured without parsing, in linear time."""

import pytest

from apps.egress.bounded_json import JsonLimitExceeded, json_depth, loads_bounded


def test_it_measures_depth_without_counting_brackets_in_strings() -> None:
    assert json_depth('[[["a[[[",{"b":[1]}]]]') == 5
    assert json_depth('"[[[[" ') == 0
    assert json_depth('["\\"[[["]') == 1


def test_it_refuses_json_deeper_or_larger_than_the_limits() -> None:
    with pytest.raises(JsonLimitExceeded, match="nested more than 64 levels"):
        loads_bounded("[" * 1000 + "]" * 1000)
    with pytest.raises(JsonLimitExceeded, match="larger than the limit of 10 characters"):
        loads_bounded('"abcdefghijkl"', max_chars=10)
    assert loads_bounded("[" * 64 + "]" * 64) is not None
    with pytest.raises(ValueError):
        loads_bounded("{not json")


def test_it_scans_hostile_text_in_linear_time() -> None:
    # Unclosed strings and escapes that would make a naive scanner quadratic.
    assert json_depth('"\\"' * 300_000) >= 0
    assert json_depth('"' + "\\" * 300_001) == 0
