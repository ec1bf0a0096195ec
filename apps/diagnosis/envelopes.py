"""Read a vendor's error out of a response body: its message, machine code, the parameter
it blames, its kind and its documentation link, whatever the vendor's shape.

The shapes are data (``[[envelopes]]`` in ``data/idioms.toml``): RFC 9457, Stripe, Google,
Azure, OAuth 2.0, Slack, ``success:false``, GraphQL, JSON:API, AWS JSON and XML, PayPal,
Okta, Atlassian, Twilio, ``status:error``, JSON-RPC, ``errors`` lists and ``error``
members. A body is parsed once, bounded (size and depth; XML without DTDs or entities), and
read as a tree of dicts and lists; an XML body becomes ``{root tag: {child tag: ...}}``.
Nothing here raises on any input.
"""

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from defusedxml import ElementTree as SafeElementTree  # no DTD, no entity expansion

from apps.diagnosis.profiles import EnvelopeShape

MAX_XML_BYTES = 256 * 1024  # larger XML bodies are not parsed
MAX_DEPTH = 64  # a tree deeper than this is not read
MAX_XML_ELEMENTS = 5_000
_XML_TYPES = ("application/xml", "text/xml")


@dataclass(frozen=True)
class ErrorReport:
    """What the body says of the error, read through one shape."""

    shape: str  # the shape's name, e.g. "Stripe-style error object"
    failed: bool  # the shape itself says the request failed
    fields: tuple[tuple[str, str, str], ...] = ()  # (role, path, value) of each field read

    def get(self, role: str) -> str | None:
        return next((value for r, _, value in self.fields if r == role), None)

    @property
    def message(self) -> str | None:
        return self.get("message")

    @property
    def code(self) -> str | None:
        return self.get("code")

    @property
    def param(self) -> str | None:
        return self.get("param")


# ----------------------------------------------------------------------------- parsing


def parse_xml(body: bytes) -> dict[str, Any] | None:
    """An XML body as {root: {child: ...}}; None when it is not small, safe, well-formed XML."""
    if len(body) > MAX_XML_BYTES or b"<!DOCTYPE" in body[:2048].upper():
        return None
    try:
        root = SafeElementTree.fromstring(body, forbid_dtd=True)
    except Exception:  # defusedxml's refusals, ParseError, ValueError on bad encodings
        return None
    count = 0

    def convert(element: Any, depth: int) -> object:
        nonlocal count
        count += 1
        if depth > MAX_DEPTH or count > MAX_XML_ELEMENTS:
            raise _TooBig
        children = list(element)
        if not children:
            return (element.text or "").strip()
        found: dict[str, object] = {}
        for child in children:
            name = _local(child.tag)
            if name and name not in found:
                found[name] = convert(child, depth + 1)
        return found

    try:
        return {_local(root.tag): convert(root, 1)}
    except _TooBig:
        return None


class _TooBig(Exception):
    pass


def _local(tag: object) -> str:
    """ "{http://s3.amazonaws.com/doc/2006-03-01/}Code" → "Code"."""
    return str(tag).rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def looks_like_xml(body: bytes, content_type: str) -> bool:
    if content_type in _XML_TYPES or content_type.endswith("+xml"):
        return content_type != "application/xhtml+xml"
    head = body.lstrip()[:64].lower()
    return head.startswith(b"<?xml") and b"<html" not in body[:512].lower()


def depth_ok(data: object, limit: int = MAX_DEPTH) -> bool:
    """Whether parsed JSON nests no deeper than the limit (checked without recursion)."""
    pending: list[tuple[object, int]] = [(data, 1)]
    seen = 0
    while pending:
        item, depth = pending.pop()
        seen += 1
        if depth > limit or seen > 200_000:
            return False
        if isinstance(item, dict):
            pending.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            pending.extend((v, depth + 1) for v in item[:1000])
    return True


# ------------------------------------------------------------------------------ paths


def _step(current: object, part: str) -> object:
    if part == "*":  # a dict's first value
        return next(iter(current.values()), None) if isinstance(current, dict) else None
    if part == "*key":  # a dict's first key
        return next(iter(current), None) if isinstance(current, dict) else None
    if isinstance(current, dict):
        return current.get(part)
    return None


@functools.lru_cache(maxsize=1024)
def _steps(path: str) -> tuple[tuple[str, bool], ...]:
    """ "errors[0].source" → (("errors", True), ("source", False)): (name, take the first)."""
    steps = []
    for part in path.split("."):
        name, _, index = part.partition("[")
        steps.append((name, bool(index)))
    return tuple(steps)


def get_value(data: object, path: str) -> object:
    """The value at a path such as "errors[0].source.parameter", "[0].message", "errors.*"."""
    current = data
    for name, first in _steps(path):
        if name:
            current = _step(current, name)
        if first:
            if not isinstance(current, list) or not current:
                return None
            current = current[0]
        if current is None:
            return None
    return current


def _present(value: object) -> bool:
    return value is not None and value is not False and value not in ("", [], {})


def _equals(value: object, expected: str) -> bool:
    if isinstance(value, bool):
        return expected == ("true" if value else "false")
    if isinstance(value, int | float):
        return expected == str(value)
    if isinstance(value, str):
        return value.strip().lower() == expected.strip('"').lower()
    return False


@functools.lru_cache(maxsize=512)
def _alternatives(condition: str) -> tuple[str, ...]:
    return tuple(alternative.strip() for alternative in condition.split("|"))


def _holds(data: object, condition: str) -> bool:
    for alternative in _alternatives(condition):
        if "!=" in alternative:
            path, _, expected = alternative.partition("!=")
            value = get_value(data, path)
            if _present(value) and not _equals(value, expected) and isinstance(value, int | str):
                return True
        elif "=" in alternative:
            path, _, expected = alternative.partition("=")
            if _equals(get_value(data, path), expected):
                return True
        elif alternative.endswith("?"):
            if _exists(data, alternative[:-1]):
                return True
        elif _present(get_value(data, alternative)):
            return True
    return False


def _exists(data: object, path: str) -> bool:
    parent, _, last = path.rpartition(".")
    holder = get_value(data, parent) if parent else data
    return isinstance(holder, dict) and last in holder


def _text(value: object, limit: int = 300) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        text = " ".join(str(value).split())
        return (text[: limit - 1] + "…" if len(text) > limit else text) or None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value[:5]):
        return _text("; ".join(value[:5]), limit)
    return None


@functools.lru_cache(maxsize=512)
def _roots(condition: str) -> frozenset[str] | None:
    """The top-level keys one of which a condition needs; None when it cannot tell."""
    roots = set()
    for alternative in _alternatives(condition):
        path = re.split(r"!=|=|\?$", alternative, maxsplit=1)[0]
        first = _steps(path)[0][0]
        if not first or first.startswith("*"):
            return None
        roots.add(first)
    return frozenset(roots)


def read_error(data: object, shapes: tuple[EnvelopeShape, ...]) -> ErrorReport | None:
    """The error the parsed body carries, through the first shape that fits; None if none."""
    if not isinstance(data, dict | list):
        return None
    keys = data.keys() if isinstance(data, dict) else None
    for shape in shapes:
        if keys is not None and any(
            (roots := _roots(condition)) is not None and roots.isdisjoint(keys)
            for condition in shape.when
        ):
            continue
        if not all(_holds(data, condition) for condition in shape.when):
            continue
        fields: list[tuple[str, str, str]] = []
        for role in ("message", "code", "param", "kind", "docs"):
            for path in getattr(shape, role):
                text = _text(get_value(data, path))
                if text:
                    fields.append((role, path, text))
                    break
        if not fields:
            continue
        return ErrorReport(shape=shape.name, failed=shape.failed, fields=tuple(fields))
    return None


def parse_json(body: bytes, limit: int) -> object:
    """Parsed JSON, or None when it is too large, too deep or not JSON."""
    if len(body) > limit:
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return data if depth_ok(data) else None
