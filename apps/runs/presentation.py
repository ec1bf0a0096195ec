"""How stored run data is shown: pure functions, no database."""

import json
from dataclasses import dataclass

from apps.egress.bounded_json import loads_bounded

FOLD_AFTER_LINES = 200
FOLD_AFTER_CHARS = 20_000


@dataclass(frozen=True)
class BodyView:
    head: str  # shown at once
    rest: str  # folded away; "" when the body is short
    is_json: bool
    total_lines: int


def body_view(text: str, content_type: str) -> BodyView:
    """The body pretty-printed when it is JSON, split into what is shown and what is folded."""
    is_json = False
    if text.strip() and ("json" in content_type or text.lstrip()[:1] in "[{"):
        try:
            text = json.dumps(loads_bounded(text), indent=2, ensure_ascii=False)
            is_json = True
        except ValueError:
            pass
    lines = text.splitlines(keepends=True)
    head_lines = lines[:FOLD_AFTER_LINES]
    head = "".join(head_lines)
    if len(head) > FOLD_AFTER_CHARS:
        head = head[:FOLD_AFTER_CHARS]
    return BodyView(head=head, rest=text[len(head) :], is_json=is_json, total_lines=len(lines))


def content_type_of(headers: list[list[str]]) -> str:
    return next(
        (
            value.split(";")[0].strip().lower()
            for name, value in headers
            if name.lower() == "content-type"
        ),
        "",
    )
