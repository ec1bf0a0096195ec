"""JSON parsed within limits: every parser of untrusted text (the submit form, redaction,
the diagnosis, pages and exports) calls `loads_bounded`, so a body nested a thousand levels
deep or larger than any body kept is refused with a message, never a RecursionError.

Pure: no Django.
"""

import json
import re
from array import array
from itertools import accumulate
from typing import Any

# Deeper than any API answer worth reading; far below Python's recursion limit, so code
# that walks the parsed value recursively stays safe too.
MAX_DEPTH = 64
# Larger than any body kept (EGRESS_MAX_BODY_BYTES is 1 MiB by default) with room to spare.
MAX_CHARS = 16 * 1024 * 1024

# A JSON string (escapes included; one left open runs to the end, so that the scan stays
# linear whatever the text).
_STRING = re.compile(r'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
# Opening brackets count 1, closing ones -1 (as signed bytes).
_STEPS = str.maketrans({"[": "\x01", "{": "\x01", "]": "\xff", "}": "\xff"})


class JsonLimitExceeded(ValueError):
    """The text is nested too deeply or is too large to be parsed; the message says which."""


def json_depth(text: str) -> int:
    """How deeply the text's arrays and objects nest (brackets inside strings ignored)."""
    if text.count("[") + text.count("{") == 0:
        return 0
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    steps = array("b", brackets.translate(_STEPS).encode("latin-1"))
    return max(0, max(accumulate(steps), default=0))


def check_json_limits(text: str, *, max_depth: int = MAX_DEPTH, max_chars: int = MAX_CHARS) -> None:
    """Raise JsonLimitExceeded when the text is larger or deeper than the limits allow."""
    if len(text) > max_chars:
        raise JsonLimitExceeded(
            f"The JSON is larger than the limit of {max_chars:,} characters ({len(text):,})."
        )
    # Only text with more brackets than the limit can nest deeper than it.
    if text.count("[") + text.count("{") > max_depth and json_depth(text) > max_depth:
        raise JsonLimitExceeded(f"The JSON is nested more than {max_depth} levels deep, the limit.")


def loads_bounded(
    text: str | bytes, *, max_depth: int = MAX_DEPTH, max_chars: int = MAX_CHARS
) -> Any:
    """`json.loads` after `check_json_limits`. A JsonLimitExceeded or json's own
    ValueError (JSONDecodeError) for text that is not JSON: both are ValueErrors."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    check_json_limits(text, max_depth=max_depth, max_chars=max_chars)
    try:
        return json.loads(text)
    except RecursionError:  # cannot happen within MAX_DEPTH; never a 500 if it does
        raise JsonLimitExceeded("The JSON is nested too deeply to be read.") from None
