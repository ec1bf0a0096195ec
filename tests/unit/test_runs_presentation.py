"""How stored run data is shown (apps.runs.presentation): bodies pretty-printed and folded,
the content type read from stored headers."""

import json

import pytest

from apps.runs.presentation import FOLD_AFTER_CHARS, FOLD_AFTER_LINES, body_view, content_type_of


def test_it_pretty_prints_json() -> None:
    view = body_view('{"a":[1,2],"é":"ü"}', "application/json")
    assert view.is_json
    assert view.head == json.dumps({"a": [1, 2], "é": "ü"}, indent=2, ensure_ascii=False)
    assert view.rest == ""
    assert view.total_lines == 7


@pytest.mark.parametrize("content_type", ["", "text/plain"])
def test_it_recognises_json_by_its_first_character(content_type: str) -> None:
    assert body_view('  [1, {"b": 2}]', content_type).is_json


@pytest.mark.parametrize(
    ("text", "content_type"),
    [
        ("{not json", "application/json"),
        ("plain words", "application/json"),
        ("   ", "application/json"),
        ("<p>hi</p>", "text/html"),
    ],
)
def test_it_leaves_anything_else_as_it_came(text: str, content_type: str) -> None:
    view = body_view(text, content_type)
    assert not view.is_json
    assert view.head + view.rest == text


def test_it_folds_after_so_many_lines() -> None:
    text = "".join(f"line {n}\n" for n in range(FOLD_AFTER_LINES + 5))
    view = body_view(text, "text/plain")
    assert view.head.count("\n") == FOLD_AFTER_LINES
    assert view.rest == "".join(
        f"line {n}\n" for n in range(FOLD_AFTER_LINES, FOLD_AFTER_LINES + 5)
    )
    assert view.total_lines == FOLD_AFTER_LINES + 5


def test_it_folds_a_long_line_after_so_many_characters() -> None:
    text = "x" * (FOLD_AFTER_CHARS + 10)
    view = body_view(text, "text/plain")
    assert (len(view.head), len(view.rest)) == (FOLD_AFTER_CHARS, 10)
    assert view.total_lines == 1


def test_it_shows_a_short_body_whole() -> None:
    assert body_view("a\nb", "text/plain").rest == ""


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([["Content-Type", "Application/JSON; charset=utf-8"]], "application/json"),
        ([["x-other", "1"], ["content-type", " text/html "]], "text/html"),
        ([["X-Content-Type-Options", "nosniff"]], ""),
        ([], ""),
    ],
)
def test_it_reads_the_content_type_without_parameters(
    headers: list[list[str]], expected: str
) -> None:
    assert content_type_of(headers) == expected
