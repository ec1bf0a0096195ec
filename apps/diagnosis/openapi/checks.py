"""Diagnose an exchange against an OpenAPI spec: which operation it called, and what of the
request or the response the spec does not allow. Findings are ``Cause``s with evidence, the
spec's own words quoted; ``apply_spec`` puts them first in a diagnosis.

Pure and bounded: at most ``MAX_BODY_ERRORS`` schema mismatches, parameter values and
bodies of bounded size; never a secret value in a finding (credentials, secret-looking
parameters and the values of the spec's own auth schemes are replaced).
"""

import difflib
import ipaddress
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from http.cookies import CookieError, SimpleCookie
from itertools import islice
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from apps.diagnosis.openapi.document import resolve_pointer
from apps.diagnosis.openapi.spec import (
    Operation,
    Parameter,
    ResponseDoc,
    SecurityScheme,
    Server,
    Spec,
)
from apps.diagnosis.results import LIKELY, POSSIBLE, Cause, Diagnosis, Evidence, Fix
from apps.egress.redaction import (
    REDACTED,
    SecretValues,
    credential_parts,
    is_secret_header,
    is_secret_param,
)
from apps.egress.types import Exchange

logger = logging.getLogger(__name__)

MAX_BODY_ERRORS = 3
MAX_MEANING_CHARS = 600  # of the operation's description of a response, quoted
MAX_NEAREST = 3
MAX_VALUE_CHARS = 80
MAX_PATTERN_INPUT = 2000  # longer values are not matched against a spec's pattern
# Bodies validated against their schema at most (jsonschema costs about 0.15 ms per object
# of a list; the egress cap is 1 MiB): a larger body is not checked.
MAX_VALIDATED_BODY = 512 * 1024
IGNORED_HEADER_PARAMS = frozenset({"accept", "content-type", "authorization"})  # OAS 3 §4.8.12
_PARAM = re.compile(r"\{([^{}/]+)\}")
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class SpecFindings:
    """What the spec says of one exchange."""

    covered: bool  # the exchange went to one of the spec's servers
    operation: Operation | None = None
    response: ResponseDoc | None = None  # the documented response for the status
    causes: list[Cause] = field(default_factory=list)


@dataclass(frozen=True)
class _Request:
    method: str
    path: str  # relative to the server's base path
    full_path: str
    query: tuple[tuple[str, str], ...]
    headers: tuple[tuple[str, str], ...]
    cookies: Mapping[str, str]

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def params(self, name: str) -> list[str]:
        return [v for k, v in self.query if k == name]


# ------------------------------------------------------------------------------- entry


def covers(spec: Spec, url: str) -> bool:
    """Whether a request to this URL goes to one of the spec's servers (by host)."""
    return _server_for(spec, url) is not None


def apply_spec(diagnosis: Diagnosis, exchange: Exchange, spec: Spec) -> Diagnosis:
    """The diagnosis with the spec's findings first and the operation's own words for the
    status quoted. The diagnosis unchanged when the spec does not cover the exchange or
    cannot be read (this never raises)."""
    try:
        findings = find_spec_causes(exchange, spec)
    except Exception:  # a spec a team wrote must never break a diagnosis
        logger.exception("OpenAPI findings failed for %s", spec.title)
        return diagnosis
    if not findings.covered:
        return diagnosis
    causes = findings.causes
    likely = [c for c in causes if c.likelihood == LIKELY]
    top = likely[0] if likely else None
    changes: dict[str, Any] = {
        # Most likely first; within each likelihood, the spec's findings first.
        "causes": sorted([*causes, *diagnosis.causes], key=lambda c: c.likelihood != LIKELY),
        "profile_name": spec.label or spec.title,
        "playbooks": list(
            dict.fromkeys([s for c in likely for s in c.playbooks] + diagnosis.playbooks)
        ),
    }
    if top is not None:
        changes["code"] = top.code
        changes["title"] = top.title
        if diagnosis.severity in ("ok", "info"):  # a 2xx the spec does not allow as it is
            changes["severity"] = "warning"
    if findings.response is not None and findings.response.description:
        op = findings.operation
        changes["api_meaning"] = _capped(findings.response.description, MAX_MEANING_CHARS)
        changes["api_name"] = spec.title
        changes["api_docs_url"] = None
        if op is not None and findings.response.key != str(diagnosis.status):
            changes["api_meaning"] = (
                f"{changes['api_meaning']} (documented as “{findings.response.key}” of {op.label})"
            )
    return replace(diagnosis, **changes)


def find_spec_causes(exchange: Exchange, spec: Spec) -> SpecFindings:
    """The spec's findings on one exchange, most telling first."""
    server = _server_for(spec, exchange.url)
    if server is None:
        return SpecFindings(covered=False)
    request = _request(exchange, server)
    secrets = SecretValues(_secrets(request, spec))
    templates = _match_templates(spec, request.path)
    if not templates:
        unknown = _scrubbed(_unknown_path(spec, server, request), secrets)
        return SpecFindings(covered=True, causes=[unknown])
    template, path_values = templates[0]
    operation = next(
        (op for op in spec.operations if op.path == template and op.method == request.method),
        None,
    )
    if operation is None:
        allowed = [op.method for op in spec.operations if op.path == template]
        wrong = _scrubbed(_method_not_allowed(request, server, template, allowed), secrets)
        return SpecFindings(covered=True, causes=[wrong])
    causes: list[Cause] = []
    causes.extend(_auth_causes(spec, operation, request, exchange))
    causes.extend(_param_causes(spec, operation, request, path_values))
    response_doc = None
    response = exchange.response
    if response is not None:
        response_doc = operation.response_for(response.status)
        if response_doc is None:
            causes.append(_undocumented_status(operation, response.status))
        else:
            causes.extend(_body_causes(spec, operation, response_doc, response))
    causes = sorted(
        (_scrubbed(cause, secrets) for cause in causes), key=lambda c: c.likelihood != LIKELY
    )
    return SpecFindings(covered=True, operation=operation, response=response_doc, causes=causes)


# ------------------------------------------------------------------- server and request


def _server_for(spec: Spec, url: str) -> Server | None:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    path = parts.path or "/"
    on_host = [
        server
        for server in spec.servers
        if server.host == host and (server.port is None or port is None or server.port == port)
    ]
    under = [
        server
        for server in on_host
        if not server.base_path
        or path == server.base_path
        or path.startswith(server.base_path + "/")
    ]
    if under:  # the server whose base path is the longest prefix of the request's path
        return max(under, key=lambda server: len(server.base_path))
    return on_host[0] if on_host else None


def _request(exchange: Exchange, server: Server) -> _Request:
    parts = urlsplit(exchange.url)
    full = parts.path or "/"
    path = full
    if server.base_path and (full == server.base_path or full.startswith(server.base_path + "/")):
        path = full[len(server.base_path) :] or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    headers = tuple((str(k), str(v)) for k, v in exchange.request_headers or [])
    cookies: dict[str, str] = {}
    raw_cookie = next((v for k, v in headers if k.lower() == "cookie"), "")
    if raw_cookie:
        try:
            jar = SimpleCookie()
            jar.load(raw_cookie)
            cookies = {name: morsel.value for name, morsel in jar.items()}
        except CookieError:
            cookies = {}
    return _Request(
        method=str(exchange.method or "").upper(),
        path=path,
        full_path=full,
        query=tuple(parse_qsl(parts.query, keep_blank_values=True)),
        headers=headers,
        cookies=cookies,
    )


def _secrets(request: _Request, spec: Spec) -> list[str]:
    names = {s.param_name.lower() for s in spec.schemes.values() if s.param_name}
    values = [v for k, v in request.headers if is_secret_header(k) or k.lower() in names]
    values += [v for k, v in request.query if is_secret_param(k) or k.lower() in names]
    values += [v for k, v in request.cookies.items() if is_secret_param(k) or k.lower() in names]
    # "Bearer abc", "Basic base64(user:key)": the parts that may be echoed alone too.
    return [part for value in values for part in credential_parts(value)]


def _scrubbed(cause: Cause, secrets: SecretValues) -> Cause:
    if not secrets:
        return cause

    def clean(text: str) -> str:
        return secrets.redact(text) if text else text

    return replace(
        cause,
        title=clean(cause.title),
        explanation=clean(cause.explanation),
        evidence=[
            replace(line, value=clean(line.value), note=clean(line.note)) for line in cause.evidence
        ],
    )


def _shown(value: str) -> str:
    value = value.replace("\n", " ").replace("\r", " ")
    return value if len(value) <= MAX_VALUE_CHARS else value[: MAX_VALUE_CHARS - 1] + "…"


def _capped(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quoted(description: str) -> str:
    text = " ".join(description.split())
    return f' The spec says: "{text[:300]}{"…" if len(text) > 300 else ""}"' if text else ""


# ------------------------------------------------------------------------ path, method


@lru_cache(maxsize=4096)
def _template_regex(template: str) -> tuple[re.Pattern[str], int]:
    pattern = ""
    position = 0
    literal = 0
    names = []
    for found in _PARAM.finditer(template):
        chunk = template[position : found.start()]
        pattern += re.escape(chunk)
        literal += len(chunk)
        names.append(found.group(1))
        pattern += f"(?P<p{len(names) - 1}>[^/]+)"
        position = found.end()
    pattern += re.escape(template[position:].rstrip("/") or ("/" if template == "/" else ""))
    literal += len(template[position:])
    return re.compile(pattern), literal


def _match_templates(spec: Spec, path: str) -> list[tuple[str, dict[str, str]]]:
    """Templates matching the path, the most literal first (OpenAPI: concrete paths win)."""
    matches = []
    for template in spec.paths():
        regex, literal = _template_regex(template)
        found = regex.fullmatch(path)
        if found is None:
            continue
        names = _PARAM.findall(template)
        values = {names[i]: unquote(found.group(f"p{i}")) for i in range(len(names))}
        matches.append((literal, template, values))
    matches.sort(key=lambda m: -m[0])
    return [(template, values) for _, template, values in matches]


def _similarity(asked: list[str], parts: list[str]) -> float:
    total = 0.0
    for mine, theirs in zip(asked, parts, strict=False):
        if mine == theirs:
            total += 1.0
        elif _PARAM.search(theirs):
            total += 0.7
        else:
            total += difflib.SequenceMatcher(None, mine.lower(), theirs.lower()).ratio()
    return total / max(len(asked), len(parts), 1)


def _nearest(spec: Spec, server: Server, full_path: str) -> list[str]:
    """The documented paths (with their servers' base paths) nearest to the one asked for,
    its segments compared from the start and from the end."""
    asked = [s for s in full_path.split("/") if s]
    bases = dict.fromkeys(s.base_path for s in spec.servers if s.host == server.host) or {
        server.base_path: None
    }
    candidates = list(dict.fromkeys(base + t for base in bases for t in spec.paths()))

    def score(candidate: str) -> float:
        parts = [s for s in candidate.split("/") if s]
        return max(_similarity(asked, parts), _similarity(asked[::-1], parts[::-1]))

    scored = sorted(((score(c), c) for c in candidates), key=lambda pair: (-pair[0], pair[1]))
    return [candidate for value, candidate in scored if value >= 0.4][:MAX_NEAREST]


def _unknown_path(spec: Spec, server: Server, request: _Request) -> Cause:
    nearest = _nearest(spec, server, request.full_path)
    shown = [f"`{path}`" for path in nearest]
    explanation = f"{spec.title} documents no path `{request.full_path}`."
    if shown:
        explanation += " The nearest documented " + (
            f"paths are {', '.join(shown)}." if len(shown) > 1 else f"path is {shown[0]}."
        )
    return Cause(
        code="openapi.path.unknown",
        title=f"The path `{_shown(request.full_path)}` is not in the spec",
        explanation=explanation,
        likelihood=LIKELY,
        evidence=[
            Evidence(
                source="request",
                name="path",
                value=_shown(request.full_path),
                note="Nearest documented: " + ", ".join(shown) if shown else "",
            )
        ],
        playbooks=["fix-endpoint"],
        retryable=False,
    )


def _method_not_allowed(
    request: _Request, server: Server, template: str, allowed: list[str]
) -> Cause:
    listed = ", ".join(f"`{m}`" for m in allowed)
    return Cause(
        code="openapi.method.not_allowed",
        title=f"`{request.method}` is not documented for `{server.base_path}{template}`",
        explanation=f"The spec allows {listed} on `{server.base_path}{template}`.",
        likelihood=LIKELY,
        evidence=[
            Evidence(
                source="request",
                name="method",
                value=request.method,
                note=f"Allowed: {listed}",
            )
        ],
        playbooks=["use-allowed-method"],
        retryable=False,
        fix=_method_fix(request.method, allowed),
    )


def _method_fix(sent: str, allowed: list[str]) -> Fix | None:
    """The allowed method to use instead, when there is one obvious choice (or GET)."""
    choices = [m for m in allowed if m != sent and m not in ("HEAD", "OPTIONS")]
    if len(choices) != 1 and "GET" not in choices:
        return None
    method = choices[0] if len(choices) == 1 else "GET"
    return Fix(
        kind="use_method", summary=f"Send the request as `{method}`.", changes={"method": method}
    )


# ---------------------------------------------------------------------------------- auth


def _sent_as_specified(scheme: SecurityScheme, request: _Request) -> bool:
    authorization = (request.header("Authorization") or "").strip()
    if scheme.type == "apiKey":
        if scheme.location == "header":
            return bool(request.header(scheme.param_name))
        if scheme.location == "query":
            return any(v for v in request.params(scheme.param_name))
        if scheme.location == "cookie":
            return bool(request.cookies.get(scheme.param_name))
        return True
    if scheme.type == "http":
        wanted = scheme.http_scheme or "bearer"
        return authorization.lower().startswith(wanted + " ")
    if scheme.type in ("oauth2", "openIdConnect"):
        return authorization.lower().startswith("bearer ")
    return True  # mutualTLS, or a type this reader does not know: cannot tell


def _where_sent(request: _Request, spec: Spec, wanted: list[SecurityScheme]) -> list[Evidence]:
    """Credentials the request carries, wherever they are: lines of evidence."""
    names = {s.param_name.lower() for s in wanted if s.param_name}
    lines: list[Evidence] = []
    for name, value in request.headers:
        lowered = name.lower()
        if lowered == "authorization" and value.strip():
            kind = value.strip().split(" ", 1)[0]
            shown = f"{kind} {REDACTED}" if " " in value.strip() else REDACTED
            lines.append(Evidence(source="request_header", name=name, value=shown))
        elif lowered in names or (is_secret_header(name) and lowered not in ("cookie",)):
            lines.append(Evidence(source="request_header", name=name, value=REDACTED))
    for name, _value in request.query:
        if name.lower() in names or is_secret_param(name):
            lines.append(Evidence(source="param", name=name, value=REDACTED))
    for name in request.cookies:
        if name.lower() in names or is_secret_param(name):
            lines.append(Evidence(source="request", name=f"cookie {name}", value=REDACTED))
    return lines


def _auth_fix(sent: list[Evidence], wanted: list[SecurityScheme]) -> Fix | None:
    """Move a key sent in the query string or in `Authorization` to the header the spec's
    apiKey scheme names, when the spec asks for exactly one such header."""
    headers = list(
        dict.fromkeys(s.param_name for s in wanted if s.type == "apiKey" and s.location == "header")
    )
    if len(headers) != 1 or len(sent) != 1 or not headers[0]:
        return None
    target, line = headers[0], sent[0]
    if line.source == "param":
        return Fix(
            kind="move_key_to_header",
            summary=f"Move the key from the query parameter `{line.name}` to the header "
            f"`{target}`, as the spec says.",
            changes={"from_param": line.name, "to_header": target},
        )
    if line.source == "request_header" and line.name.lower() != target.lower():
        changes = {"from_header": line.name, "to_header": target}
        if line.name.lower() == "authorization":
            changes["strip_scheme"] = "true"
        return Fix(
            kind="move_key_to_header",
            summary=f"Send the key in `{target}` instead of `{line.name}`, as the spec says.",
            changes=changes,
        )
    return None


def _auth_causes(
    spec: Spec, operation: Operation, request: _Request, exchange: Exchange
) -> list[Cause]:
    requirements = spec.security_for(operation)
    if not requirements or any(len(alt) == 0 for alt in requirements):
        return []
    for alternative in requirements:
        schemes = [spec.schemes.get(name) for name in alternative]
        if all(s is not None and _sent_as_specified(s, request) for s in schemes):
            return []
    wanted = [spec.schemes[n] for alt in requirements for n in alt if n in spec.schemes]
    if not wanted:
        return []
    expected = " or ".join(dict.fromkeys(s.describe() for s in wanted))
    status = exchange.response.status if exchange.response is not None else None
    # A refusal may come from it; a success or a failure without an answer may not.
    likelihood = LIKELY if status is not None and status >= 400 else POSSIBLE
    described = next((s.description for s in wanted if s.description), "")
    sent = _where_sent(request, spec, wanted)
    expected_line = Evidence(
        source="request",
        name="securitySchemes",
        value=", ".join(dict.fromkeys(s.name for s in wanted)),
        note=f"The spec asks for {expected}.",
    )
    if sent:
        where = ", ".join(
            f"the `{line.name}` "
            + {"param": "query parameter", "request_header": "header"}.get(line.source, "")
            for line in sent
        ).replace(" ,", ",")
        return [
            Cause(
                code="openapi.auth.other_way",
                title=f"The credential was sent another way than the spec says ({expected})",
                explanation=(
                    f"The request carries a credential in {where.strip()}, but "
                    f"{operation.label} expects {expected}.{_quoted(described)}"
                ),
                likelihood=likelihood,
                evidence=[
                    *[
                        replace(line, note="Sent here; the spec does not read it here.")
                        for line in sent
                    ],
                    expected_line,
                ],
                playbooks=["reauthenticate"],
                retryable=False,
                fix=_auth_fix(sent, wanted),
            )
        ]
    return [
        Cause(
            code="openapi.auth.missing",
            title=f"No credential was sent; the spec asks for {expected}",
            explanation=f"{operation.label} requires authentication.{_quoted(described)}",
            likelihood=likelihood,
            evidence=[expected_line],
            playbooks=["reauthenticate"],
            retryable=False,
        )
    ]


# ---------------------------------------------------------------------------- parameters


def _schema(spec: Spec, schema: Mapping[str, Any]) -> Mapping[str, Any]:
    hops = 0
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and hops < 16:
        try:
            target = resolve_pointer(spec.document, schema["$ref"])
        except KeyError:
            return {}
        schema = target if isinstance(target, Mapping) else {}
        hops += 1
    if isinstance(schema, Mapping) and isinstance(schema.get("allOf"), list):
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            if isinstance(part, Mapping):
                merged.update(_schema(spec, part))
        return merged
    return schema if isinstance(schema, Mapping) else {}


def _types(schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, list):
        return [str(k) for k in kind]
    return [str(kind)] if kind else []


def _values(param: Parameter, request: _Request, path_values: Mapping[str, str]) -> list[str]:
    if param.location == "query":
        return request.params(param.name)
    if param.location == "header":
        value = request.header(param.name)
        return [] if value is None else [value]
    if param.location == "cookie":
        value = request.cookies.get(param.name)
        return [] if value is None else [value]
    value = path_values.get(param.name)
    return [] if value is None else [value]


def value_problem(raw: str, schema: Mapping[str, Any], spec: Spec | None = None) -> str | None:
    """What is wrong with a parameter's value under its schema, for people; None if nothing."""
    if spec is not None:
        schema = _schema(spec, schema)
    types = [t for t in _types(schema) if t != "null"]
    kind = types[0] if len(types) == 1 else ""
    if kind == "array":
        items = schema.get("items")
        items = items if isinstance(items, Mapping) else {}
        parts = raw.split(",") if raw else []
        for part in parts:
            problem = value_problem(part, items, spec)
            if problem:
                return problem
        return _array_bounds(len(parts), schema)
    value: Any = raw
    if kind == "integer":
        try:
            value = int(raw)
        except ValueError:
            return "is not an integer"
        bounds = _INT_RANGES.get(str(schema.get("format") or ""))
        if bounds and not bounds[0] <= value <= bounds[1]:
            return f"is outside the range of {schema.get('format')}"
    elif kind == "number":
        try:
            value = float(raw)
        except ValueError:
            return "is not a number"
        if value != value or value in (float("inf"), float("-inf")):
            return "is not a finite number"
    elif kind == "boolean":
        if raw not in ("true", "false"):
            return "is not `true` or `false`"
        value = raw == "true"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        allowed = [str(v).lower() if isinstance(v, bool) else str(v) for v in enum if v is not None]
        if str(raw) not in allowed and value not in enum:
            listed = ", ".join(f"`{v}`" for v in allowed[:12])
            return f"is not one of {listed}{', …' if len(allowed) > 12 else ''}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        problem = _range_problem(value, schema)
        if problem:
            return problem
    if isinstance(value, str):
        return _string_problem(value, schema)
    return None


def _array_bounds(count: int, schema: Mapping[str, Any]) -> str | None:
    low, high = schema.get("minItems"), schema.get("maxItems")
    if isinstance(low, int) and count < low:
        return f"has {count} items; at least {low} are needed"
    if isinstance(high, int) and count > high:
        return f"has {count} items; at most {high} are allowed"
    return None


def _range_problem(value: float, schema: Mapping[str, Any]) -> str | None:
    low, high = schema.get("minimum"), schema.get("maximum")
    ex_low, ex_high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    # 3.0: booleans beside minimum/maximum; 3.1: numbers of their own.
    if isinstance(ex_low, int | float) and not isinstance(ex_low, bool) and value <= ex_low:
        return f"must be greater than {ex_low}"
    if isinstance(ex_high, int | float) and not isinstance(ex_high, bool) and value >= ex_high:
        return f"must be less than {ex_high}"
    if (
        isinstance(low, int | float)
        and not isinstance(low, bool)
        and (value < low or (ex_low is True and value == low))
    ):
        return f"must be {'greater than' if ex_low is True else 'at least'} {low}"
    if (
        isinstance(high, int | float)
        and not isinstance(high, bool)
        and (value > high or (ex_high is True and value == high))
    ):
        return f"must be {'less than' if ex_high is True else 'at most'} {high}"
    return None


def _string_problem(value: str, schema: Mapping[str, Any]) -> str | None:
    low, high = schema.get("minLength"), schema.get("maxLength")
    if isinstance(low, int) and len(value) < low:
        return f"is shorter than {low} characters"
    if isinstance(high, int) and len(value) > high:
        return f"is longer than {high} characters"
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and len(value) <= MAX_PATTERN_INPUT:
        try:
            if re.search(pattern, value) is None:
                return f"does not match the pattern `{pattern}`"
        except re.error:
            pass  # a pattern Python cannot read (ECMA-only syntax): not checked
    fmt = schema.get("format")
    if fmt == "date-time":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            if "T" not in value.upper():
                raise ValueError
        except ValueError:
            return "is not a date-time (RFC 3339, e.g. `2024-01-01T00:00:00Z`)"
    elif fmt == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return "is not a date (e.g. `2024-01-01`)"
    elif fmt == "uuid" and not _UUID.fullmatch(value):
        return "is not a UUID"
    elif fmt in ("ipv4", "ipv6"):
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return f"is not an {fmt.upper().replace('V', 'v')} address"
        if address.version != int(fmt[-1]):
            return f"is not an {fmt.upper().replace('V', 'v')} address"
    elif fmt == "email" and not _EMAIL.fullmatch(value):
        return "is not an email address"
    elif fmt in ("uri", "url") and not _has_scheme(value):
        return "is not an absolute URI (e.g. `https://example.com/`)"
    return None


def _has_scheme(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme and (parts.netloc or parts.path))


def _param_fix(spec: Spec, param: Parameter, raw: str) -> Fix | None:
    """A query parameter's nearest valid value: the enum's value in its own case (or the
    one closest in spelling), or the bound of the range it is outside."""
    if param.location != "query":
        return None
    schema = _schema(spec, param.schema)
    valid: str | None = None
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        allowed = [str(v).lower() if isinstance(v, bool) else str(v) for v in enum if v is not None]
        same = [v for v in allowed if v.lower() == raw.strip().lower()]
        close = difflib.get_close_matches(raw.strip(), allowed, n=1, cutoff=0.75)
        valid = same[0] if same else (close[0] if close else None)
    elif "integer" in _types(schema):
        try:
            number = int(raw.strip())
        except ValueError:
            return None
        low, high = schema.get("minimum"), schema.get("maximum")
        if isinstance(low, int) and not isinstance(low, bool) and number < low:
            valid = str(low)
        elif isinstance(high, int) and not isinstance(high, bool) and number > high:
            valid = str(high)
    if valid is None or valid == raw or value_problem(valid, schema, spec) is not None:
        return None
    return Fix(
        kind="set_param",
        summary=f"Set `{param.name}` to `{valid}`, a value the spec allows.",
        changes={"param": param.name, "value": valid},
    )


def _param_causes(
    spec: Spec, operation: Operation, request: _Request, path_values: Mapping[str, str]
) -> list[Cause]:
    secret_names = {s.param_name.lower() for s in spec.schemes.values() if s.param_name}
    causes: list[Cause] = []
    for param in operation.parameters:
        if param.location == "header" and param.name.lower() in IGNORED_HEADER_PARAMS:
            continue
        values = _values(param, request, path_values)
        source = {"query": "param", "header": "request_header"}.get(param.location, "request")
        where = f"{param.location} parameter `{param.name}`"
        if not values:
            if param.required:
                causes.append(
                    Cause(
                        code="openapi.param.missing",
                        title=f"The required {where} is missing",
                        explanation=(
                            f"{operation.label} requires the {where}.{_quoted(param.description)}"
                        ),
                        evidence=[
                            Evidence(
                                source=source,
                                name=param.name,
                                value="(not sent)",
                                note=param.description[:200],
                            )
                        ],
                        playbooks=["fix-request"],
                        retryable=False,
                    )
                )
            continue
        for raw in values if param.explode is not False else [",".join(values)]:
            problem = value_problem(raw, param.schema, spec)
            if problem is None:
                continue
            secret = (
                param.name.lower() in secret_names
                or is_secret_param(param.name)
                or (param.location == "header" and is_secret_header(param.name))
            )
            shown = REDACTED if secret else _shown(raw)
            causes.append(
                Cause(
                    code="openapi.param.invalid",
                    title=f"The {where} {problem}",
                    explanation=(
                        f"{operation.label}: the value sent for `{param.name}` "
                        f"{problem}.{_quoted(param.description)}"
                    ),
                    evidence=[
                        Evidence(
                            source=source,
                            name=param.name,
                            value=shown,
                            note=f"{problem[0].upper()}{problem[1:]}. "
                            f"{param.description[:160]}".strip(),
                        )
                    ],
                    playbooks=["fix-request"],
                    retryable=False,
                    fix=None if secret else _param_fix(spec, param, raw),
                )
            )
            break
    documented = {p.name for p in operation.parameters if p.location == "query"}
    scheme_params = {s.param_name for s in spec.schemes.values() if s.location == "query"}
    for name in dict.fromkeys(k for k, _ in request.query):
        if name in documented or name in scheme_params or is_secret_param(name):
            continue
        close = difflib.get_close_matches(name, sorted(documented), n=1, cutoff=0.75)
        if not close:
            continue
        causes.append(
            Cause(
                code="openapi.param.undocumented",
                title=f"The query parameter `{name}` is not documented; did you mean `{close[0]}`?",
                explanation=(
                    f"{operation.label} documents no `{name}`, so the API may ignore it; "
                    f"it documents `{close[0]}`."
                ),
                likelihood=POSSIBLE,
                evidence=[Evidence(source="param", name=name, note=f"Documented: `{close[0]}`")],
                playbooks=["fix-request"],
                retryable=False,
            )
        )
    return causes


# ------------------------------------------------------------------------ status, body


def _undocumented_status(operation: Operation, status: int) -> Cause:
    listed = ", ".join(f"`{k}`" for k in operation.responses) or "none"
    return Cause(
        code="openapi.status.undocumented",
        title=f"{operation.label} does not document the status {status}",
        explanation=(
            f"The spec lists these responses for {operation.label}: {listed}. A status it "
            "does not document is outside the contract: the spec is incomplete, or the request "
            "reached something else than the API (a gateway, a proxy)."
        ),
        likelihood=POSSIBLE,
        evidence=[
            Evidence(
                source="status", name="status", value=str(status), note=f"Documented: {listed}"
            )
        ],
        playbooks=["contact-provider"],
    )


def _json_path(parts: Iterable[object]) -> str:
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            out += f".{part}"
        else:
            out += "[" + json.dumps(str(part)) + "]"
    return out


def _validator(spec: Spec, pointer: str) -> Any:
    """A validator of the schema at ``pointer``, its references resolved in the document;
    made once per spec and pointer."""
    key = f"validator:{pointer}"
    if key not in spec.cache:
        spec.cache[key] = _new_validator(spec, pointer)
    return spec.cache[key]


def _new_validator(spec: Spec, pointer: str) -> Any:
    from openapi_schema_validator import (
        OAS30Validator,
        OAS31Validator,
        oas30_format_checker,
        oas31_format_checker,
    )
    from referencing import Registry
    from referencing.jsonschema import DRAFT4, DRAFT202012

    is_31 = spec.openapi.startswith("3.1")
    uri = "urn:openapi-document"
    resource = (DRAFT202012 if is_31 else DRAFT4).create_resource(dict(spec.document))
    registry = Registry().with_resource(uri, resource)
    cls = OAS31Validator if is_31 else OAS30Validator
    checker = oas31_format_checker if is_31 else oas30_format_checker
    return cls({"$ref": uri + pointer}, registry=registry, format_checker=checker)


def _body_causes(spec: Spec, operation: Operation, doc: ResponseDoc, response: Any) -> list[Cause]:
    if not doc.content or not response.body:
        return []
    content_type = response.content_type or "application/octet-stream"
    if content_type not in doc.content and doc.schema_ref(content_type) is None:
        documented = ", ".join(f"`{m}`" for m in doc.content)
        return [
            Cause(
                code="openapi.body.media_type",
                title=f"The response is `{content_type}`; the spec documents {documented}",
                explanation=(
                    f"For `{doc.key}`, {operation.label} documents {documented}. A body of "
                    "another type often comes from something in front of the API (a gateway, "
                    "a sign-in page), or from a request the API read differently."
                ),
                likelihood=POSSIBLE,
                evidence=[
                    Evidence(
                        source="header",
                        name="Content-Type",
                        value=_shown(content_type),
                        note=f"Documented: {documented}",
                    )
                ],
            )
        ]
    pointer = doc.schema_ref(content_type)
    if pointer is None or not content_type.endswith("json") or response.truncated:
        return []
    if len(response.body) > MAX_VALIDATED_BODY:
        return []
    try:
        instance = json.loads(response.body)
    except (ValueError, RecursionError):
        return [
            Cause(
                code="openapi.body.schema",
                title="The response body is not the JSON the spec documents",
                explanation=f"It says `{content_type}` but cannot be read as JSON.",
                likelihood=POSSIBLE,
                evidence=[Evidence(source="body", name="body", note="Not valid JSON")],
                playbooks=["contact-provider"],
            )
        ]
    try:
        errors = list(islice(_validator(spec, pointer).iter_errors(instance), 50))
    except Exception:  # a schema this validator cannot follow (e.g. a `$id` elsewhere)
        logger.info("OpenAPI: the schema at %s of %s could not be used", pointer, spec.title)
        return []
    if not errors:
        return []
    errors.sort(key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path]))
    shown = errors[:MAX_BODY_ERRORS]
    ok = 200 <= response.status < 300
    return [
        Cause(
            code="openapi.body.schema",
            title=f"The response body does not match the documented schema of `{doc.key}`",
            explanation=(
                f"{len(errors)}{'+' if len(errors) == 50 else ''} mismatch"
                f"{'es' if len(errors) != 1 else ''} with what {operation.label} documents for "
                f"`{doc.key}`; the first {len(shown)} below, each at its JSON path."
            ),
            likelihood=LIKELY if ok else POSSIBLE,
            evidence=[
                Evidence(
                    source="body",
                    name=_json_path(error.absolute_path),
                    value=_shown(json.dumps(error.instance)[:MAX_VALUE_CHARS])
                    if not isinstance(error.instance, dict | list)
                    else "",
                    note=_shown(error.message.splitlines()[0] if error.message else ""),
                )
                for error in shown
            ],
            playbooks=["contact-provider"],
        )
    ]
