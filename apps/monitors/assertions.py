"""Assertions on a check's outcome: parsed from one line each, evaluated against what came
back, and a failed one explained like a diagnosis (a title, its evidence, what to do).

Pure: no database. The syntax, one assertion per line:

    status in 200-299,304
    json $.data[0].open exists | json $.result == success | json $.result contains succ
    header Content-Type | header Content-Type ~ ^application/json
    time total < 800 | time wait < 500        (dns, connect, tls, send, wait, receive)
    body contains "result" | body not contains error
    cert days > 14
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any

from apps.egress.types import PHASES

TIME_PHASES = ("total", *(name for name in PHASES if name != "blocked"))
MAX_ASSERTIONS = 20
EXCERPT = 120
_MISSING = object()


class AssertionSyntaxError(ValueError):
    """A line that is not an assertion; the message says which and why."""


@dataclass(frozen=True)
class Observation:
    """What a check's run gave, as the assertions need it (redacted already)."""

    status: int | None  # None: no response
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    total_ms: float | None = None
    phases: dict[str, float] = field(default_factory=dict)  # final request's phases
    cert_days_left: int | None = None  # the leaf certificate's, None when not https
    failure: str = ""  # what the client said when there was no response

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


@dataclass(frozen=True)
class Failed:
    """A failed assertion, explained."""

    assertion: str  # the line, as written
    title: str
    evidence: list[str]
    advice: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "assertion": self.assertion,
            "title": self.title,
            "evidence": self.evidence,
            "advice": self.advice,
        }


# Parsing --------------------------------------------------------------------------------


def parse_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line of `text` as an assertion, or AssertionSyntaxError naming the
    first line that is not one."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_ASSERTIONS:
        raise AssertionSyntaxError(f"At most {MAX_ASSERTIONS} assertions (one per line).")
    parsed = []
    for number, line in enumerate(lines, start=1):
        try:
            parsed.append(parse(line))
        except AssertionSyntaxError as exc:
            raise AssertionSyntaxError(f"Line {number} ({line[:60]!r}): {exc}") from None
    return parsed


def parse(line: str) -> dict[str, Any]:
    words = line.split(None, 1)
    keyword = words[0].lower() if words else ""
    rest = words[1].strip() if len(words) > 1 else ""
    if keyword == "status":
        return _parse_status(rest)
    if keyword == "json":
        return _parse_json(rest)
    if keyword == "header":
        return _parse_header(rest)
    if keyword == "time":
        return _parse_time(rest)
    if keyword == "body":
        return _parse_body(rest)
    if keyword == "cert":
        return _parse_cert(rest)
    raise AssertionSyntaxError(
        "start with status, json, header, time, body or cert (e.g. 'status in 200-299')."
    )


def _parse_status(rest: str) -> dict[str, Any]:
    match = re.fullmatch(r"in\s+([0-9,\s-]+)", rest)
    if not match:
        raise AssertionSyntaxError("write 'status in 200-299' or 'status in 200,204,304'.")
    ranges = []
    for part in match.group(1).replace(" ", "").split(","):
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise AssertionSyntaxError(f"'{part}' is not a status or a range of statuses.")
        first, last = int(low), int(high or low)
        if not (100 <= first <= last <= 599):
            raise AssertionSyntaxError(f"'{part}' is not between 100 and 599, low to high.")
        ranges.append([first, last])
    return {"kind": "status", "ranges": ranges}


def _parse_json(rest: str) -> dict[str, Any]:
    match = re.fullmatch(r"(\$\S*)\s+(exists|==|contains)(?:\s+(.+))?", rest)
    if not match:
        raise AssertionSyntaxError(
            "write 'json $.path exists', 'json $.path == value' or 'json $.path contains text'."
        )
    path, op, value = match.group(1), match.group(2), _unquote(match.group(3) or "")
    _path_steps(path)
    if op != "exists" and not value:
        raise AssertionSyntaxError(f"'{op}' needs a value after it.")
    return {"kind": "json", "path": path, "op": op, "value": value}


def _parse_header(rest: str) -> dict[str, Any]:
    name, _, pattern = rest.partition("~")
    name, pattern = name.strip(), _unquote(pattern.strip())
    if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|-]+", name):
        raise AssertionSyntaxError("write 'header Name' or 'header Name ~ regular expression'.")
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise AssertionSyntaxError(
                f"the pattern is not a regular expression ({exc})."
            ) from None
    return {"kind": "header", "name": name, "pattern": pattern}


def _parse_time(rest: str) -> dict[str, Any]:
    match = re.fullmatch(r"(\w+)\s*<\s*(\d{1,6})(?:\s*ms)?", rest)
    if not match or match.group(1).lower() not in TIME_PHASES:
        raise AssertionSyntaxError(
            f"write 'time total < 800' (ms); the phase is one of {', '.join(TIME_PHASES)}."
        )
    return {"kind": "time", "phase": match.group(1).lower(), "ms": int(match.group(2))}


def _parse_body(rest: str) -> dict[str, Any]:
    match = re.fullmatch(r"(not\s+)?contains\s+(.+)", rest)
    if not match or not _unquote(match.group(2)):
        raise AssertionSyntaxError("write 'body contains text' or 'body not contains text'.")
    return {"kind": "body", "negate": bool(match.group(1)), "text": _unquote(match.group(2))}


def _parse_cert(rest: str) -> dict[str, Any]:
    match = re.fullmatch(r"days\s*>\s*(\d{1,4})", rest)
    if not match:
        raise AssertionSyntaxError("write 'cert days > 14'.")
    return {"kind": "cert", "days": int(match.group(1))}


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _path_steps(path: str) -> list[str | int]:
    """`$.data[0].open` as ["data", 0, "open"]."""
    if not path.startswith("$"):
        raise AssertionSyntaxError("a JSON path starts with '$'.")
    steps: list[str | int] = []
    for match in re.finditer(r"\.([^.\[\]]+)|\[(\d+)\]|(.)", path[1:]):
        if match.group(3) is not None:
            raise AssertionSyntaxError(f"'{path}' is not a path like $.data[0].open.")
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
    return steps


def describe(assertion: dict[str, Any]) -> str:
    """The assertion as its line."""
    kind = assertion.get("kind")
    if kind == "status":
        parts = [f"{a}-{b}" if a != b else str(a) for a, b in assertion["ranges"]]
        return f"status in {','.join(parts)}"
    if kind == "json":
        value = f" {assertion['value']}" if assertion["op"] != "exists" else ""
        return f"json {assertion['path']} {assertion['op']}{value}"
    if kind == "header":
        pattern = f" ~ {assertion['pattern']}" if assertion["pattern"] else ""
        return f"header {assertion['name']}{pattern}"
    if kind == "time":
        return f"time {assertion['phase']} < {assertion['ms']}"
    if kind == "body":
        return f"body {'not ' if assertion['negate'] else ''}contains {assertion['text']}"
    if kind == "cert":
        return f"cert days > {assertion['days']}"
    return str(kind)


def to_text(assertions: list[dict[str, Any]]) -> str:
    return "\n".join(describe(assertion) for assertion in assertions)


# Evaluating -----------------------------------------------------------------------------


def evaluate(assertions: list[dict[str, Any]], seen: Observation) -> list[Failed]:
    """The assertions that failed on `seen`, each explained. With no response every
    assertion about the response fails, explained by the failure."""
    failed = []
    for assertion in assertions:
        result = _check(assertion, seen)
        if result is not None:
            failed.append(result)
    return failed


def _no_response(line: str, seen: Observation) -> Failed:
    return Failed(
        assertion=line,
        title="No response to check",
        evidence=[seen.failure or "The request got no response."],
        advice="The diagnosis of the run says why the request failed and what to do.",
    )


def _check(assertion: dict[str, Any], seen: Observation) -> Failed | None:
    line = describe(assertion)
    kind = assertion.get("kind")
    if kind == "time":
        return _check_time(assertion, seen, line)
    if seen.status is None:
        return _no_response(line, seen)
    if kind == "status":
        if any(a <= seen.status <= b for a, b in assertion["ranges"]):
            return None
        return Failed(
            assertion=line,
            title=f"Status {seen.status} is not one of {line.removeprefix('status in ')}",
            evidence=[f"status: {seen.status}", _excerpt(seen.body)],
            advice="The diagnosis of the run explains this status and what to do about it.",
        )
    if kind == "json":
        return _check_json(assertion, seen, line)
    if kind == "header":
        value = seen.header(assertion["name"])
        if value is None:
            return Failed(
                assertion=line,
                title=f"The response has no {assertion['name']} header",
                evidence=[f"headers: {', '.join(name for name, _ in seen.headers)[:EXCERPT]}"],
                advice="Check whether the API stopped sending this header or the path changed.",
            )
        if assertion["pattern"] and not re.search(assertion["pattern"], value):
            return Failed(
                assertion=line,
                title=f"{assertion['name']} does not match {assertion['pattern']}",
                evidence=[f"{assertion['name']}: {value[:EXCERPT]}"],
                advice="The API answers differently from what this monitor expects.",
            )
        return None
    if kind == "body":
        found = assertion["text"] in seen.body
        if found != assertion["negate"]:
            return None
        return Failed(
            assertion=line,
            title=(
                f"The body contains {assertion['text']!r}"
                if assertion["negate"]
                else f"The body does not contain {assertion['text']!r}"
            ),
            evidence=[_excerpt(seen.body, around=assertion["text"])],
            advice="Compare the body with what the API answered when the monitor was made.",
        )
    if kind == "cert":
        days = seen.cert_days_left
        if days is not None and days > assertion["days"]:
            return None
        return Failed(
            assertion=line,
            title=(
                "No certificate was presented (not https)"
                if days is None
                else f"The certificate expires in {days} days "
                f"(wanted more than {assertion['days']})"
            ),
            evidence=[f"days left: {days}" if days is not None else "no TLS facts"],
            advice="Renew the certificate, or tell the API's owner it is about to expire.",
        )
    return None


def _check_time(assertion: dict[str, Any], seen: Observation, line: str) -> Failed | None:
    phase, limit = assertion["phase"], assertion["ms"]
    took = seen.total_ms if phase == "total" else seen.phases.get(phase)
    if took is None:
        if phase == "total" or seen.status is None:
            return _no_response(line, seen)
        return None  # the phase did not happen (a reused connection, no TLS): nothing slow
    if took < limit:
        return None
    return Failed(
        assertion=line,
        title=f"{'The request' if phase == 'total' else f'The {phase} phase'} took "
        f"{took:.0f} ms (limit {limit} ms)",
        evidence=[
            f"{phase}: {took:.0f} ms",
            *[f"{name}: {ms:.0f} ms" for name, ms in seen.phases.items() if name != phase][:3],
        ],
        advice="The run's waterfall shows where the time went.",
    )


def _check_json(assertion: dict[str, Any], seen: Observation, line: str) -> Failed | None:
    try:
        document: Any = json.loads(seen.body)
    except (ValueError, RecursionError):  # nested deeper than json reads: not JSON to it
        return Failed(
            assertion=line,
            title="The body is not JSON",
            evidence=[_excerpt(seen.body)],
            advice="The API may be answering with an error page instead of data.",
        )
    value = _follow(document, _path_steps(assertion["path"]))
    op, expected = assertion["op"], assertion["value"]
    if value is _MISSING:
        return Failed(
            assertion=line,
            title=f"{assertion['path']} is not in the body",
            evidence=[_excerpt(seen.body)],
            advice="The response's shape changed, or it is an error rather than data.",
        )
    shown = value if isinstance(value, str) else json.dumps(value)
    if op == "exists":
        return None
    if op == "==" and shown == expected:
        return None
    if op == "contains" and expected in shown:
        return None
    return Failed(
        assertion=line,
        title=f"{assertion['path']} is {shown[:60]!r}, wanted {op} {expected!r}",
        evidence=[f"{assertion['path']}: {shown[:EXCERPT]}"],
        advice="The API answers with other data than this monitor expects.",
    )


def _follow(document: Any, steps: list[str | int]) -> Any:
    """The value at the path's steps, or _MISSING."""
    value = document
    for step in steps:
        in_list = isinstance(step, int) and isinstance(value, list) and step < len(value)
        in_object = isinstance(step, str) and isinstance(value, dict) and step in value
        if not (in_list or in_object):
            return _MISSING
        value = value[step]
    return value


def _excerpt(body: str, around: str = "") -> str:
    if not body:
        return "body: (empty)"
    start = max(0, body.find(around) - EXCERPT // 2) if around and around in body else 0
    text = " ".join(body[start : start + EXCERPT].split())
    return f"body: {text}{'…' if len(body) > start + EXCERPT else ''}"
