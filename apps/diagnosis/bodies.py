"""Read a response body for its message and its telling fields, whatever its format.

The API's envelope (a profile's ``[envelope]``: Kaiko's ``result``/``message``/``access``),
RFC 9457 problem details (``type``, ``title``, ``status``, ``detail``), other JSON error
shapes, plain text, and HTML error pages from proxies and gateways (their ``<title>`` and
``<h1>`` as text: the page is never rendered). Bodies are untrusted bytes: nothing here
raises on them, and what comes out is one line of cleaned text.
"""

import html
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from apps.diagnosis.envelopes import ErrorReport, looks_like_xml, parse_json, parse_xml, read_error
from apps.diagnosis.profiles import Envelope, EnvelopeShape
from apps.egress.types import Response

MAX_MESSAGE_CHARS = 500  # a message longer than this is cut
MAX_PLAIN_TEXT_CHARS = 300  # a plain-text body longer than this is not a message
MAX_PARSED_BYTES = 4 * 1024 * 1024  # larger bodies are not parsed
MAX_HTML_CHARS = 20_000  # an HTML page's title and heading are looked for this far

_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class BodyFacts:
    """What a response body says, as far as the diagnosis cares."""

    format: str  # "empty" | "envelope" | "problem" | "json" | "xml" | "html" | "text" | "binary"
    label: str  # for people: "Kaiko envelope", "RFC 9457 problem details", "HTML page", ...
    fields: tuple[tuple[str, str], ...] = ()  # telling fields: ("message", "..."), ("<title>", ..)
    data: Any = None  # the parsed JSON (or XML as dicts), if the body is JSON (or XML)
    error: ErrorReport | None = None  # the vendor's error, read through a known shape
    text: str = ""  # an HTML or text body's first characters, lower case, for page idioms

    def field(self, name: str) -> str | None:
        return next((value for key, value in self.fields if key == name), None)


def read_body(
    response: Response,
    envelope: Envelope,
    api_name: str,
    shapes: tuple[EnvelopeShape, ...] = (),
) -> BodyFacts:
    body = response.body
    if not isinstance(body, bytes | bytearray) or not body.strip():
        return BodyFacts("empty", "empty")
    body = bytes(body)
    content_type = response.content_type
    is_json = content_type.endswith(("/json", "+json"))
    if is_json or body.lstrip()[:1] in (b"{", b"["):
        parsed = parse_json(body, MAX_PARSED_BYTES)
        if isinstance(parsed, dict):
            return _json_facts(parsed, content_type, envelope, api_name, shapes)
        if parsed is not None:
            error = read_error(parsed, shapes)
            return BodyFacts("json", "JSON", _report_fields(error), data=parsed, error=error)
        if is_json:
            return BodyFacts("binary", "JSON that could not be parsed")
    if looks_like_xml(body, content_type):
        tree = parse_xml(body)
        if tree is not None:
            error = read_error(tree, shapes)
            label = f"XML ({error.shape})" if error else "XML"
            return BodyFacts("xml", label, _report_fields(error), tree, error)
    try:
        text = body[:MAX_HTML_CHARS].decode("utf-8", errors="replace")
        body.decode("utf-8")
    except UnicodeDecodeError:
        return BodyFacts("binary", "binary")
    if content_type in _HTML_TYPES or text.lstrip()[:1] == "<":
        found = []
        for name, pattern in (("<title>", _TITLE), ("<h1>", _H1)):
            match = pattern.search(text)
            if match and (value := clean(html.unescape(_TAG.sub(" ", match.group(1))))):
                found.append((name, value))
        return BodyFacts("html", "HTML page", tuple(found), text=text.lower())
    stripped = text.strip()
    if _printable(stripped):
        first_line = clean(stripped.splitlines()[0]) if stripped else None
        fields = (("text", first_line),) if first_line else ()
        return BodyFacts("text", "plain text", fields, text=stripped[:2000].lower())
    return BodyFacts("binary", "binary")


def _report_fields(error: ErrorReport | None) -> tuple[tuple[str, str], ...]:
    if error is None:
        return ()
    found = []
    for _, path, value in error.fields:
        if text := clean(value):
            found.append((path, text))
    return tuple(found)


def _json_facts(
    data: dict[str, Any],
    content_type: str,
    envelope: Envelope,
    api_name: str,
    shapes: tuple[EnvelopeShape, ...],
) -> BodyFacts:
    error = read_error(data, shapes)
    if content_type == "application/problem+json" or _looks_like_problem(data):
        found = [
            (key, text)
            for key in ("type", "title", "status", "detail", "instance")
            if (text := _short(data.get(key))) is not None
        ]
        found += [f for f in _report_fields(error) if f[0] not in data or f[0] == "code"]
        return BodyFacts("problem", "RFC 9457 problem details", tuple(found), data, error)
    result_key = envelope.result
    if result_key and isinstance(get_path(data, result_key), str):
        found = []
        for role in ("result", "message"):
            path = getattr(envelope, role)
            if path and (text := _short(get_path(data, path))) is not None:
                found.append((path, text))
        return BodyFacts("envelope", f"{api_name} envelope", tuple(found), data, error)
    if error is not None:
        label = "JSON" if error.shape == "JSON" else f"JSON ({error.shape})"
        return BodyFacts("json", label, _report_fields(error), data, error)
    message = _message_from_json(data, problem=False)
    fields = (("message", cleaned),) if message and (cleaned := clean(message)) else ()
    return BodyFacts("json", "JSON", fields, data)


def get_path(data: object, dotted: str) -> object:
    """``get_path(body, "access.access_range")``; None when any step is missing."""
    current = data
    for step in dotted.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(step)
    return current


def _short(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        return clean(str(value))
    return None


def _looks_like_problem(data: dict[str, Any]) -> bool:
    return ("title" in data or "detail" in data) and ("type" in data or "status" in data)


# ------------------------------------------------------------------ the body's message


def extract_message(response: Response) -> str | None:
    """The error message a response body carries, cleaned up for display, or None.

    Reads a JSON body (the Kaiko envelope's `message`, RFC 9457 problem details' `title` and
    `detail`, and the usual `error`/`errors`/`detail` shapes), an HTML page's title (else
    its first heading), or a short plain-text body.
    """
    body = response.body
    if not isinstance(body, bytes | bytearray) or not body.strip():
        return None
    content_type = response.content_type
    is_json = content_type.endswith(("/json", "+json"))
    if is_json or body.lstrip()[:1] in (b"{", b"["):
        parsed = _parse_json(bytes(body))
        if isinstance(parsed, dict):
            found = _message_from_json(parsed, problem=content_type == "application/problem+json")
            return clean(found) if found else None
        if parsed is not None or is_json:
            return None  # JSON without a message: the body speaks for itself
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if content_type in _HTML_TYPES or text.lstrip()[:1] == "<":
        for pattern in (_TITLE, _H1):
            match = pattern.search(text[:MAX_HTML_CHARS])
            if match and (found := clean(html.unescape(_TAG.sub(" ", match.group(1))))):
                return found
        return None
    if content_type.startswith("text/") or not content_type:
        stripped = text.strip()
        if len(stripped) <= MAX_PLAIN_TEXT_CHARS and _printable(stripped):
            return clean(stripped)
    return None


def _parse_json(body: bytes) -> object:
    return parse_json(body, MAX_PARSED_BYTES)


def _message_from_json(data: dict[str, Any], *, problem: bool) -> str | None:
    # RFC 9457 problem details: "title" is the kind of problem, "detail" this occurrence.
    if problem or _looks_like_problem(data):
        title, detail = _text(data.get("title")), _text(data.get("detail"))
        if title and detail and detail.lower() != title.lower():
            return f"{title.rstrip().rstrip('.')}: {detail}"
        if title or detail:
            return title or detail
    # The Kaiko envelope ({"result": "error", "message": ...}) and most other APIs.
    if message := _text(data.get("message")):
        return message
    error = data.get("error")
    if isinstance(error, dict):
        if message := _text(error.get("message")) or _text(error.get("detail")):
            return message
    elif error_text := _text(error):
        description = _text(data.get("error_description"))  # OAuth 2.0 (RFC 6749 §5.2)
        return f"{error_text}: {description}" if description else error_text
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict):
            return _text(first.get("message")) or _text(first.get("detail")) or None
        return _text(first)
    return _text(data.get("detail")) or _text(data.get("error_message")) or None


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "; ".join(v for v in value if v.strip()) or None
    return None


def _printable(text: str) -> bool:
    return all(ch in "\t\n\r" or unicodedata.category(ch)[0] != "C" for ch in text)


def clean(text: str, limit: int = MAX_MESSAGE_CHARS) -> str | None:
    """One line of readable text: control characters dropped, spaces collapsed, cut short."""
    window = limit * 4 + 64  # more than the line can keep, even after collapsing spaces
    cut = len(text) > window
    if cut:
        text = text[:window]
    if text.isprintable():
        visible = text
    else:
        visible = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    line = " ".join(visible.split())
    if not line:
        return None
    if len(line) > limit or (cut and len(line) == limit):
        return line[: limit - 1] + "…"
    return line + "…" if cut else line
