"""Response bodies highlighted server-side (apps/runs/highlight.py): escaped, classes only."""

import re

import pytest

from apps.runs.highlight import HIGHLIGHT_MAX_CHARS, folded_lines, highlighted_lines

TAGS = re.compile(r"</?span[^>]*>")


@pytest.mark.parametrize(
    ("text", "content_type", "is_json"),
    [
        ('{\n  "a": "<b>x</b>",\n  "n": [1, true, null]\n}', "application/json", True),
        (
            "<?xml version='1.0'?>\n<r a=\"1\">&amp;<!-- two\nlines --></r>",
            "application/xml",
            False,
        ),
        ("<html><script>alert(1)</script>\n<p onclick=x>hi</p></html>", "text/html", False),
        ("plain <text> & more\nsecond", "text/plain", False),
    ],
)
def test_it_keeps_every_character_escaped_and_one_item_per_line(
    text: str, content_type: str, is_json: bool
) -> None:
    lines = highlighted_lines(text, content_type, is_json=is_json)
    assert len(lines) == text.count("\n") + 1
    html = "\n".join(lines)
    assert "style=" not in html
    assert "<script" not in html and "<b>" not in html
    plain = TAGS.sub("", html)
    expected = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert plain == expected.replace('"', "&quot;").replace("'", "&#x27;")


def test_it_marks_json_keys_and_strings_apart() -> None:
    (line,) = highlighted_lines('{"key": "value"}', "application/json", is_json=True)
    assert '<span class="nt">&quot;key&quot;</span>' in line
    assert '<span class="s2">&quot;value&quot;</span>' in line


def test_a_huge_body_is_plain() -> None:
    text = '{"a": "' + "x" * HIGHLIGHT_MAX_CHARS + '"}'
    (line,) = highlighted_lines(text, "application/json", is_json=True)
    assert "<span" not in line


def test_it_folds_at_a_line_boundary() -> None:
    shown, folded = folded_lines(
        head="a\nb\n", rest="c\nd\n", content_type="text/plain", is_json=False
    )
    assert shown == ["a", "b"]
    assert folded == ["c", "d"]
    shown, folded = folded_lines(head="a\nb\n", rest="", content_type="text/plain", is_json=False)
    assert (shown, folded) == (["a", "b"], [])
