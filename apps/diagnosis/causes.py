"""Tell the likely causes of an outcome apart, each with the evidence that points at it.

The rules here are the same for every API; what differs between APIs (where the key goes,
the envelope, the parameter rules, the paths, the wording of each cause) comes from the
profile's data file. A rule yields findings: a cause key (``"401.no_key"``), how likely it
is, and the evidence lines; the catalog turns the key into the cause's code and words,
the profile's own first, else the generic profile's.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from apps.diagnosis.bodies import get_path
from apps.diagnosis.evidence import (
    Finding,
    contains,
    describe_secret,
    header_line,
    message_lines,
    scheme_only,
    status_line,
    wait_lines,
)
from apps.diagnosis.facts import Facts
from apps.diagnosis.idioms import find_idioms, param_name
from apps.diagnosis.profiles import Catalog, CauseEntry, ParamRule, Profile, SegmentRule
from apps.diagnosis.results import LIKELY, POSSIBLE, Cause, DiagnosisContext, Evidence
from apps.egress.redaction import REDACTED, is_secret_header, is_secret_param, redact_url
from apps.egress.types import FailureKind

SUSTAINED_AFTER = 3  # this many recent 429s from the same host: "sustained", not "a burst"
MAINTENANCE_WAIT = 120  # a 503 asking to wait this long (s) or more announces a planned pause
TRANSIENT_5XX = frozenset({500, 502, 503, 504, 520, 521, 522, 523, 524})
_ISO_MAX_CHARS = 64
_PLACEHOLDER = re.compile(r"^<.*>$|your[-_ ]?(api[-_ ]?)?key|x{4,}|^\*+$|changeme", re.IGNORECASE)


def find_causes(
    facts: Facts, profile: Profile, context: DiagnosisContext, using: Catalog
) -> list[Cause]:
    """The likely causes, most likely first.

    The idioms (``apps.diagnosis.idioms``) are read first; when one says more than the
    status (a 403 that is a rate limit, a 200 that is an error), it leads and what the
    status alone would say follows as possible.
    """
    idioms, decisive = find_idioms(facts, profile, context, using)
    if facts.status is None:
        stale = [c for f in idioms if (c := _resolve(f, profile, using)) is not None]
        return [*stale, _network_cause(facts, using)]
    by_status = _status_findings(facts, profile, context, using)
    if decisive:
        demoted = [replace(f, likelihood=POSSIBLE) for f in by_status]
        findings = [*idioms, *demoted]
    else:
        findings = [*by_status, *idioms]
    causes: list[Cause] = []
    for finding in findings:
        cause = _resolve(finding, profile, using)
        if cause is None:
            continue
        existing = next((c for c in causes if c.code == cause.code), None)
        if existing is None:
            if not finding.merge_only:
                causes.append(cause)
            continue
        merged = distinct_evidence([*existing.evidence, *cause.evidence])
        likelihood = LIKELY if LIKELY in (existing.likelihood, cause.likelihood) else POSSIBLE
        causes[causes.index(existing)] = replace(existing, likelihood=likelihood, evidence=merged)
    causes = [replace(c, evidence=distinct_evidence(c.evidence)) for c in causes]
    causes.sort(key=lambda c: c.likelihood != LIKELY)  # stable: the rules' order within
    if facts.cut and causes:
        why = _CUT_NOTES.get(facts.cut, "The body was cut")
        note = f"{why}; a message at its end may be missing."
        cut = Evidence(source="body", name="cut", value=facts.shown(facts.cut), note=note)
        causes[0] = replace(causes[0], evidence=[*causes[0].evidence, cut])
    return causes


def distinct_evidence(lines: list[Evidence]) -> list[Evidence]:
    """The lines with each fact once, in their order: a later line about the same source,
    name and value (or a value that says less, "400" after "400 Bad Request") is dropped,
    and an earlier one that says less takes the fuller value, keeping its own note."""
    kept: list[Evidence] = []
    for line in lines:
        index = next((i for i, seen in enumerate(kept) if _same_fact(seen, line)), None)
        if index is None:
            kept.append(line)
        elif len(line.value) > len(kept[index].value):
            kept[index] = replace(kept[index], value=line.value)
    return kept


def _same_fact(one: Evidence, other: Evidence) -> bool:
    if (one.source, one.name) != (other.source, other.name):
        return False
    short, long = sorted((one.value, other.value), key=len)
    return short == long or (bool(short) and long.startswith(f"{short} "))


_CUT_NOTES = {
    "body_bytes": "The body was longer than the dashboard keeps and was cut",
    "decoded_bytes": "The body decompressed to more than the dashboard keeps and was cut",
}


def _resolve(finding: Finding, profile: Profile, using: Catalog) -> Cause | None:
    entry = using.cause(profile, finding.keys)
    if entry is None and finding.param is not None:
        entry = _param_cause(finding.param, profile, using)
    if entry is None:
        return None
    return _cause(entry, finding.likelihood, finding.evidence)


def _cause(entry: CauseEntry, likelihood: str, evidence: list[Evidence]) -> Cause:
    return Cause(
        code=entry.code,
        title=entry.title,
        explanation=entry.explanation,
        likelihood=likelihood,
        evidence=evidence,
        playbooks=list(entry.playbooks),
        retryable=entry.retryable,
    )


def _param_cause(rule: ParamRule, profile: Profile, using: Catalog) -> CauseEntry:
    """The words for a parameter the profile has a rule for but no cause wording."""
    other = using.cause(profile, ["400.param.other"])
    return CauseEntry(
        code=f"{profile.slug}.400.param.{rule.name}",
        key=f"400.param.{rule.name}",
        source=profile.slug,
        title=f"The parameter `{rule.name}` is not valid",
        explanation=f"`{rule.name}` must be {rule.rule}.",
        playbooks=other.playbooks if other else ("fix-request",),
    )


# ---------------------------------------------------------------------- evidence lines


def _phrases(using: Catalog, profile: Profile, key: str) -> tuple[str, ...]:
    entry = using.cause(profile, [key])
    return entry.message_contains if entry else ()


def _key_slips(value: str) -> list[str]:
    """Copy-paste slips visible in a key's shape, without telling its value."""
    slips = []
    if value != value.strip():
        slips.append("starts or ends with a space or a line break")
    if any(ch in value.strip() for ch in "\r\n\t"):
        slips.append("contains a line break or a tab")
    stripped = value.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "\"'":
        slips.append("is wrapped in quotes")
    if stripped.lower().startswith(("bearer ", "basic ", "token ")):
        slips.append("starts with an authorization scheme; the header takes the key alone")
    if _PLACEHOLDER.search(stripped):
        slips.append("looks like a placeholder, not a real key")
    if 0 < len(stripped) < 8:
        slips.append("is unusually short")
    return slips


# ------------------------------------------------------------------------ by status


def _status_findings(
    facts: Facts, profile: Profile, context: DiagnosisContext, using: Catalog
) -> list[Finding]:
    status = facts.status or 0
    entry = using.http_entry(status)
    if not facts.reason and entry.status is not None and entry.reason:
        facts = replace(facts, reason=entry.reason)  # the registered phrase, for evidence
    if status == 400:
        return _bad_request(facts, profile, using)
    if status == 401:
        return _unauthorized(facts, profile, using)
    if status == 403:
        return _forbidden(facts, profile, using)
    if status == 404:
        return _not_found(facts, profile)
    if status == 405:
        return _method_not_allowed(facts, profile)
    if status == 406 or (status == 415 and contains(facts.api_message, ("accept",))):
        return _not_acceptable(facts, profile)
    if status == 422:
        return _bad_request(facts, profile, using)
    if status == 402:
        note = "The account must pay, or the payment itself failed."
        return [
            Finding(
                ("402.payment_required",),
                LIKELY,
                [status_line(facts, note), *message_lines(facts, profile)],
            )
        ]
    if status == 451:
        note = "Refused because of a legal demand (RFC 7725)."
        lines = [
            status_line(facts, note),
            *header_line(facts, "Link", "Who blocked it, when it says (rel=blocked-by)."),
        ]
        return [Finding(("451.legal",), LIKELY, [*lines, *message_lines(facts, profile)])]
    if status == 429:
        return _rate_limited(facts, profile, context)
    if 500 <= status <= 599:
        return _server_error(facts, profile, using)
    return []


# 401 ---------------------------------------------------------------------------------


def _unauthorized(facts: Facts, profile: Profile, using: Catalog) -> list[Finding]:
    auth = profile.auth
    status = status_line(facts, "The API did not accept the request's credentials.")
    message = message_lines(facts, profile)
    if contains(facts.api_message, _phrases(using, profile, "401.entitlement")):
        lines = [
            status,
            *message_lines(
                facts, profile, "The message speaks of permission: the key was recognised."
            ),
        ]
        if auth.header and (sent := facts.request_header(auth.header)):
            lines.append(
                Evidence(
                    source="request_header",
                    name=auth.header,
                    value=describe_secret(sent),
                    note="A key was sent, and the API knew it.",
                )
            )
        return [Finding(("401.entitlement",), LIKELY, lines)]
    if not auth.header:
        return _unauthorized_generic(facts, status, message)

    sent = facts.request_header(auth.header)
    in_query = [
        (name, value)
        for name, value in facts.query
        if name.lower() in auth.wrong_query_params and value
    ]
    in_headers = [
        (name, value) for name in auth.wrong_headers if (value := facts.request_header(name))
    ]
    if sent is None or not sent.strip():
        missing = Evidence(
            source="request_header",
            name=auth.header,
            value="(not sent)" if sent is None else "(empty)",
            note=f"{profile.short_name} reads the key only from this header.",
        )
        findings = []
        if in_query:
            findings.append(
                Finding(
                    ("401.key_in_query",),
                    LIKELY,
                    [
                        missing,
                        *(
                            Evidence(
                                source="param",
                                name=name,
                                value=REDACTED,
                                note="A key in the query string: the API does not read it there.",
                            )
                            for name, _ in in_query
                        ),
                        status,
                    ],
                )
            )
        if in_headers:
            findings.append(
                Finding(
                    ("401.key_in_authorization",),
                    LIKELY,
                    [
                        missing,
                        *(
                            Evidence(
                                source="request_header",
                                name=name,
                                value=scheme_only(value),
                                note=f"Sent, but {profile.short_name} does not read this header.",
                            )
                            for name, value in in_headers
                        ),
                        status,
                    ],
                )
            )
        if not findings:
            findings.append(Finding(("401.no_key",), LIKELY, [missing, status, *message]))
        return findings

    key_line = Evidence(
        source="request_header",
        name=auth.header,
        value=describe_secret(sent),
        note="A key was sent in the right header, and the API did not accept it.",
    )
    slips = [
        Evidence(source="request_header", name=auth.header, value=slip, note="A copy-paste slip.")
        for slip in _key_slips(sent)
    ]
    findings = [Finding(("401.key_rejected",), LIKELY, [key_line, *slips, status, *message])]
    if not facts.api_message:
        findings.append(
            Finding(
                ("401.entitlement",),
                POSSIBLE,
                [
                    key_line,
                    Evidence(
                        source="body",
                        name="message",
                        value="(none)",
                        note="Without a message, a missing entitlement answered as 401 "
                        "cannot be ruled out.",
                    ),
                ],
            )
        )
    return findings


def _unauthorized_generic(facts: Facts, status: Evidence, message: list[Evidence]) -> list[Finding]:
    """Any API: credentials recognised by their names (Authorization, *-Key, token, ...)."""
    challenge = header_line(
        facts, "WWW-Authenticate", "The scheme the server expects (RFC 9110 §11.6.1)."
    )
    sent_headers = [
        (name, value)
        for name, value in facts.request_headers
        if value and is_secret_header(name) and name.lower() not in ("cookie",)
    ]
    sent_params = [(name, value) for name, value in facts.query if value and is_secret_param(name)]
    if not sent_headers and not sent_params:
        missing = Evidence(
            source="request_header",
            name="Authorization",
            value="(not sent)",
            note="No credentials the dashboard recognises went out: no Authorization, "
            "API-key or token header or parameter.",
        )
        return [Finding(("401.no_key",), LIKELY, [missing, status, *challenge, *message])]
    lines = [
        Evidence(
            source="request_header",
            name=name,
            value=scheme_only(value) if name.lower() == "authorization" else REDACTED,
            note="Credentials were sent here.",
        )
        for name, value in sent_headers
    ]
    lines += [
        Evidence(source="param", name=name, value=REDACTED, note="Credentials were sent here.")
        for name, _ in sent_params
    ]
    return [Finding(("401.key_rejected",), LIKELY, [*lines, status, *challenge, *message])]


# 403 ---------------------------------------------------------------------------------


def time_params(profile: Profile) -> tuple[str, str] | None:
    for rule in profile.params.values():
        if rule.type == "datetime" and rule.before:
            return rule.name, rule.before
    return None


def moment(value: object) -> datetime | None:
    """An ISO 8601 string, or epoch seconds or milliseconds, as an aware datetime."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, int | float):
            seconds = value / 1000 if abs(value) >= 100_000_000_000 else value
            return datetime.fromtimestamp(seconds, UTC)
        if isinstance(value, str) and 0 < len(value) <= _ISO_MAX_CHARS:
            parsed = datetime.fromisoformat(value.strip())
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def range_bounds(block: object) -> tuple[datetime | None, datetime | None, str]:
    """(start, end, how it was written) of an access range block, e.g. Kaiko's
    {"start_timestamp": 1704067200000, "end_timestamp": null}."""
    if not isinstance(block, dict):
        return None, None, ""
    start = end = None
    for key, value in block.items():
        name = str(key).lower()
        if name.startswith("start") and start is None:
            start = moment(value)
        elif name.startswith("end") and end is None:
            end = moment(value)
    shown = ", ".join(f"{k}={v}" for k, v in list(block.items())[:4])
    return start, end, shown


def _forbidden(facts: Facts, profile: Profile, using: Catalog) -> list[Finding]:
    status = status_line(facts, "The API knows who is asking and refuses this resource.")
    message = message_lines(facts, profile)
    outside: list[Evidence] = []
    names = time_params(profile)
    blocks = [
        (path, what)
        for path, what in (
            (profile.envelope.access_range, "what the key may query"),
            (profile.envelope.data_range, "the data the key is entitled to"),
        )
        if path
    ]
    for block_path, what in blocks if names else []:
        block = get_path(facts.body.data, block_path) if facts.body else None
        access_start, access_end, shown = range_bounds(block)
        start_name, end_name = names or ("", "")
        wanted_start = moment(facts.param(start_name))
        wanted_end = moment(facts.param(end_name))
        found: list[Evidence] = []
        if access_start and wanted_start and wanted_start < access_start:
            found.append(
                Evidence(
                    source="param",
                    name=start_name,
                    value=facts.shown(facts.param(start_name)),
                    note=f"Before the start of {what} ({_when(access_start)}).",
                )
            )
        if access_end and wanted_end and wanted_end > access_end:
            found.append(
                Evidence(
                    source="param",
                    name=end_name,
                    value=facts.shown(facts.param(end_name)),
                    note=f"After the end of {what} ({_when(access_end)}).",
                )
            )
        if found:
            note = what[0].upper() + what[1:] + "."
            range_line = Evidence(
                source="body", name=block_path, value=facts.shown(shown), note=note
            )
            outside += [line for line in found if line not in outside] + [range_line]
    said = contains(facts.api_message, _phrases(using, profile, "403.outside_access_range"))
    if said:
        outside = [
            *message_lines(facts, profile, "The message speaks of the time range."),
            *outside,
        ]
    if outside:
        return [
            Finding(("403.outside_access_range",), LIKELY, [*outside, status]),
            Finding(("403.no_entitlement",), POSSIBLE, [status]),
        ]
    findings = [Finding(("403.no_entitlement",), LIKELY, [status, *message])]
    if names and (facts.param(names[0]) or facts.param(names[1])):
        sent = [
            Evidence(
                source="param",
                name=name,
                value=facts.shown(facts.param(name)),
                note="Compare with the key's access range (access.access_range in a "
                "successful response).",
            )
            for name in names
            if facts.param(name)
        ]
        findings.append(Finding(("403.outside_access_range",), POSSIBLE, sent))
    return findings


# 400 ---------------------------------------------------------------------------------


def parse_duration(value: str, rule: ParamRule) -> int | None:
    match = re.fullmatch(r"([0-9]{1,9})([a-zA-Z]{1,3})", value)
    if not match or match.group(2) not in rule.units:
        return None
    return int(match.group(1)) * rule.units[match.group(2)]


def check_param(rule: ParamRule, value: str) -> str | None:
    """Why the value breaks the rule, or None when it keeps it."""
    if rule.type == "integer":
        if not re.fullmatch(r"[0-9]{1,15}", value):
            return f"Not a whole number; must be {rule.rule}."
        number = int(value)
        if (rule.minimum is not None and number < rule.minimum) or (
            rule.maximum is not None and number > rule.maximum
        ):
            return f"Out of range; must be {rule.rule}."
        return None
    if rule.type == "duration":
        seconds = parse_duration(value, rule)
        if seconds is None:
            return f"Not a number followed by a unit; must be {rule.rule}."
        if seconds == 0 or (rule.minimum is not None and seconds < rule.minimum):
            return f"Too short; must be {rule.rule}."
        if rule.maximum is not None and seconds > rule.maximum:
            return f"Too long; must be {rule.rule}."
        return None
    if rule.type == "datetime":
        if moment(value) is None or not re.match(r"[0-9]{4}-", value.strip()):
            hint = (
                " A '+' sent unencoded in a URL arrives as a space: send %2B."
                if " " in value
                else ""
            )
            return f"Not an ISO 8601 date-time; must be {rule.rule}.{hint}"
        return None
    if rule.type == "choice":
        if value not in rule.choices:
            return f"Not one of {', '.join(rule.choices)}; must be {rule.rule}."
        return None
    if rule.pattern and not re.fullmatch(rule.pattern, value):
        return f"Does not have the expected form; must be {rule.rule}."
    return None


def _names_in(message: str, names: Iterable[str]) -> list[str]:
    """The names the message mentions as whole words, in the order it mentions them."""
    found: list[tuple[int, str]] = []
    for name in set(names):
        if len(name) < 2:
            continue
        match = re.search(
            rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", message, re.IGNORECASE
        )
        if match:
            found.append((match.start(), name))
    return [name for _, name in sorted(found)]


def _quoted_in(message: str, values: Iterable[str]) -> list[str]:
    """The values the message quotes ('x', "x", `x` or “x”), in the order it quotes them."""
    found: list[tuple[int, str]] = []
    for value in set(values):
        match = re.search(rf"['\"`\u201c\u2018]{re.escape(value)}['\"`\u201d\u2019]", message, re.I)
        if match:
            found.append((match.start(), value))
    return [value for _, value in sorted(found)]


def _bad_request(facts: Facts, profile: Profile, using: Catalog) -> list[Finding]:
    status = status_line(facts, "The API refused the request as malformed.")
    message = facts.api_message or ""
    sent = [name for name, _ in facts.query if not is_secret_param(name)]
    named = _names_in(message, [*profile.params, *sent]) if message else []
    blamed = param_name(facts)  # the parameter the body's error names, if any
    if blamed and not is_secret_param(blamed):
        named = [blamed, *(n for n in named if n != blamed)]
    issues: dict[str, tuple[str, str]] = {}  # name → (value, why)
    rule: ParamRule | None
    for name, rule in profile.params.items():
        value = facts.param(name)
        if value is not None and (why := check_param(rule, value)):
            issues[name] = (value, why)
    for name, rule in profile.params.items():
        other = rule.before
        start, end = facts.param(name), facts.param(other) if other else None
        if other and start and end and name not in issues and other not in issues:
            start_at, end_at = moment(start), moment(end)
            if start_at and end_at and start_at >= end_at:
                why = f"Not before {other} ({facts.shown(end)})"
                if start_at == end_at:
                    why += " (the end is exclusive: equal times ask for nothing)"
                why += "."
                issues[name] = (start, why)
    for name, checked in profile.params.items():
        together = [other for other in checked.not_with if facts.param(other) is not None]
        if name not in issues and together and (value := facts.param(name)) is not None:
            issues[name] = (value, f"Sent together with `{together[0]}`; must be {checked.rule}.")

    findings: list[Finding] = []
    for position, name in enumerate(named):
        named_rule = profile.params.get(name)
        key = f"400.param.{name}" if named_rule else "400.param.other"
        value = facts.param(name)
        why = issues[name][1] if name in issues else ""
        if not why and named_rule:
            why = f"Must be {named_rule.rule}."
        said = "The error names" if name == blamed else "The message names"
        lines = message_lines(facts, profile, f"{said} `{name}`.")
        lines.append(
            Evidence(
                source="param",
                name=name,
                value=facts.shown(value) if value is not None else "(not sent)",
                note=why
                or ("Sent as shown." if value is not None else "The request did not send it."),
            )
        )
        # The first name the message gives is the offender; later ones (e.g. "start_time
        # must not be after end_time") only when they break a rule themselves.
        likelihood = LIKELY if position == 0 or name in issues else POSSIBLE
        findings.append(Finding((key,), likelihood, [*lines, status], param=named_rule))
    for name, (value, why) in issues.items():
        if name in named:
            continue
        likelihood = POSSIBLE if named else LIKELY
        line = Evidence(source="param", name=name, value=facts.shown(value), note=why)
        findings.append(
            Finding((f"400.param.{name}",), likelihood, [line, status], param=profile.params[name])
        )
    if not findings:
        headers = _names_in(
            message, [n for n, _ in facts.request_headers if not is_secret_header(n)]
        )
        lines = [*message_lines(facts, profile), status]
        lines += [
            Evidence(
                source="request_header",
                name=name,
                value=facts.shown(facts.request_header(name) or ""),
                note="The message names this request header.",
            )
            for name in headers[:3]
        ]
        if not message:
            lines.append(
                Evidence(
                    source="body",
                    name="message",
                    value="(none)",
                    note="The response does not say what is wrong.",
                )
            )
        findings.append(Finding(("400.other",), LIKELY, lines))
    return findings


# 404 ---------------------------------------------------------------------------------


@dataclass
class _Match:
    template: str
    problems: list[tuple[str, str, str, str]]  # (segment name, value, why, cause key)
    values: dict[str, str]
    literal_misses: int


def _strip_prefix(path: str, prefixes: Iterable[str]) -> str:
    for prefix in prefixes:
        if path == prefix or path.startswith(prefix + "/"):
            return path[len(prefix) :] or "/"
    return path


def _check_segment(rule: SegmentRule, value: str, api: str) -> str | None:
    lowered = value.lower()
    hint = f" {rule.hint}" if rule.hint else ""
    if lowered in rule.aliases:
        return f"A name, not {api}'s code: use `{rule.aliases[lowered]}`.{hint}"
    if rule.choices and value not in rule.choices:
        if lowered in rule.choices:
            return f"Codes are lower case: `{lowered}`.{hint}"
        return f"Not one of {', '.join(rule.choices)}.{hint}"
    if rule.pattern and not re.fullmatch(rule.pattern, value):
        if re.fullmatch(rule.pattern, lowered):
            return f"Codes are lower case: `{lowered}`.{hint}"
        return f"Does not look like one of {api}'s codes.{hint}"
    return None


def _match_path(path: str, profile: Profile) -> _Match | None:
    segments = [s for s in path.strip("/").split("/")]
    best: _Match | None = None
    for template in profile.paths.templates:
        parts = template.strip("/").split("/")
        if len(parts) != len(segments):
            continue
        match = _Match(template, [], {}, 0)
        for part, value in zip(parts, segments, strict=True):
            variable = re.fullmatch(r"\{([^}]*)\}", part)
            if variable:
                rule = profile.paths.segments[variable.group(1)]
                match.values[rule.name] = value
                if why := _check_segment(rule, value, profile.short_name):
                    match.problems.append((rule.name, value, why, rule.cause))
            elif value != part:
                match.literal_misses += 1
                why = f"Expected `{part}` here."
                match.problems.append((part, value, why, "404.path"))
        score = (match.literal_misses, len(match.problems))
        if best is None or score < (best.literal_misses, len(best.problems)):
            best = match
    if best is None or best.literal_misses > 1:
        return None
    return best


def _not_found(facts: Facts, profile: Profile) -> list[Finding]:
    status = status_line(facts, "Nothing answers at this path.")
    message = message_lines(facts, profile)
    path = _strip_prefix(facts.path, profile.paths.strip_prefixes)
    path_line = Evidence(
        source="request", name="path", value=facts.shown(facts.path), note="The path requested."
    )
    if not profile.paths.templates:
        return [Finding(("404.path",), LIKELY, [path_line, status, *message])]
    match = _match_path(path, profile)
    if match is None:
        example = profile.paths.templates[0]
        note = f"Matches none of {profile.short_name}'s endpoints, e.g. {example}"
        return [
            Finding(
                ("404.path",),
                LIKELY,
                [
                    Evidence(
                        source="request", name="path", value=facts.shown(facts.path), note=note
                    ),
                    status,
                    *message,
                ],
            )
        ]
    findings: list[Finding] = []
    # The message quoting a segment's value ('coinbase') points at that segment first; a
    # value it names unquoted counts only when that value breaks a rule.
    said = facts.api_message or ""
    broken = {value for _, value, _, _ in match.problems}
    quoted = _quoted_in(said, [v for v in match.values.values() if len(v) > 1])
    quoted = quoted or [v for v in _names_in(said, broken) if len(v) > 1]
    for value in quoted[:1]:
        name = next(n for n, v in match.values.items() if v == value)
        rule = profile.paths.segments[name]
        why = next((p[2] for p in match.problems if p[0] == name), "The message names it.")
        findings.append(
            Finding(
                (rule.cause,),
                LIKELY,
                [
                    *message_lines(facts, profile, f"The message names the {name} `{value}`."),
                    Evidence(source="request", name=name, value=facts.shown(value), note=why),
                    status,
                ],
            )
        )
    for name, value, why, cause in match.problems:
        lines = [Evidence(source="request", name=name, value=facts.shown(value), note=why)]
        if cause == "404.path":
            lines.append(path_line)
        findings.append(Finding((cause,), LIKELY, [*lines, status]))
    if not findings:
        causes = [
            profile.paths.segments[name].cause
            for name in match.values
            if profile.paths.segments[name].cause != "404.path"
        ]
        note = (
            f"The path has the form of a {profile.short_name} endpoint ({match.template}) and "
            "every code looks valid; this combination may not exist."
        )
        last = causes[-1] if causes else "404.path"
        lines = [
            Evidence(source="request", name=name, value=facts.shown(value), note=note)
            for name, value in list(match.values.items())[-1:]
        ]
        findings.append(Finding((last,), POSSIBLE, [*lines, status, *message]))
    return findings


# 405, 406 ----------------------------------------------------------------------------


def _method_not_allowed(facts: Facts, profile: Profile) -> list[Finding]:
    status = status_line(facts, "The endpoint does not accept this method.")
    allow = facts.response_header("Allow")
    allowed = set(profile.request.methods)
    if allow:
        allowed |= {m.strip().upper() for m in allow.split(",") if m.strip()}
    method = facts.method or "(none)"
    if profile.request.methods:
        note = f"{profile.short_name} answers {', '.join(profile.request.methods)}."
    else:
        note = "The method the request used."
    lines = [Evidence(source="request", name="method", value=facts.shown(method), note=note)]
    lines += header_line(facts, "Allow", "The methods this endpoint accepts (RFC 9110 §10.2.1).")
    likelihood = LIKELY if not allowed or facts.method not in allowed else POSSIBLE
    return [Finding(("405.method",), likelihood, [*lines, status])]


def _admits(accept: str, produces: Iterable[str]) -> bool:
    """Whether an Accept header admits one of the media types (RFC 9110 §12.5.1)."""
    for media in produces:
        kind = media.split("/", 1)[0]
        best_rank, best_quality = 0, 0.0
        for item in accept.split(","):
            name, *params = (part.strip() for part in item.split(";"))
            rank = {"*/*": 1, f"{kind}/*": 2, media: 3}.get(name.lower(), 0)
            if rank == 0:
                continue
            quality = 1.0
            for param in params:
                key, _, raw = param.partition("=")
                if key.strip().lower() == "q":
                    try:
                        quality = float(raw.strip())
                    except ValueError:
                        quality = 1.0
            if rank > best_rank or (rank == best_rank and quality > best_quality):
                best_rank, best_quality = rank, quality
        if best_rank and best_quality > 0:
            return True
    return False


def _not_acceptable(facts: Facts, profile: Profile) -> list[Finding]:
    status = status_line(facts, "The server cannot answer in a format the request admits.")
    accept = facts.request_header("Accept")
    produces = profile.request.accept
    wanted = ", ".join(produces) if produces else "what the API produces"
    if accept is None:
        line = Evidence(
            source="request_header",
            name="Accept",
            value="(not sent)",
            note=f"No Accept header went out; send `Accept: {wanted}`.",
        )
        return [Finding(("406.accept",), POSSIBLE, [line, status])]
    admitted = _admits(accept, produces) if produces else False
    line = Evidence(
        source="request_header",
        name="Accept",
        value=facts.shown(accept),
        note=f"Admits {wanted}, yet the server refused it."
        if admitted
        else f"Does not admit {wanted}.",
    )
    return [Finding(("406.accept",), POSSIBLE if admitted else LIKELY, [line, status])]


# 429 ---------------------------------------------------------------------------------


def _rate_limited(facts: Facts, profile: Profile, context: DiagnosisContext) -> list[Finding]:
    status = status_line(facts, "The rate limit was reached.")
    recent = max(0, int(context.recent_rate_limited))
    window = max(1, int(context.window_seconds))
    sustained = recent >= SUSTAINED_AFTER
    minutes = f"{window // 60} min" if window % 60 == 0 else f"{window} s"
    history = Evidence(
        source="history",
        name="recent 429s from this host",
        value=f"{recent} in the last {minutes}",
        note=f"{SUSTAINED_AFTER} or more: sustained, not a one-off burst."
        if sustained
        else f"Fewer than {SUSTAINED_AFTER}: a burst, not a sustained excess.",
    )
    documented = profile.rate_limit
    calls: list[Evidence] = []
    if documented is not None and context.recent_requests is not None:
        seen, span = max(0, context.recent_requests), max(1, context.requests_window_seconds)
        allowed = documented.requests * span / documented.window_seconds
        over = seen >= allowed
        sustained = sustained or over
        calls.append(
            Evidence(
                source="history",
                name="recent calls to this host",
                value=f"{seen} in the last {span} s",
                note=f"{profile.short_name} allows {documented.requests:,} per "
                f"{documented.window_seconds} s per {documented.per}, about {allowed:,.0f} in "
                f"{span} s: " + ("over it." if over else "under it: other clients share the key?"),
            )
        )
    elif documented is not None and not documented.headers:
        calls.append(
            Evidence(
                source="history",
                name="documented limit",
                value=f"{documented.requests:,} per {documented.window_seconds} s",
                note=f"Per {documented.per}; {profile.short_name} sends no rate-limit headers, "
                "so the team's own recent calls are the evidence.",
            )
        )
    lines = [status, *wait_lines(facts), history, *calls, *message_lines(facts, profile)]
    if not facts.wait.lines:
        lines.insert(
            1,
            Evidence(
                source="header",
                name="Retry-After",
                value="(not sent)",
                note="No wait announced: back off exponentially with jitter.",
            ),
        )
    return [Finding(("429.sustained" if sustained else "429.burst",), LIKELY, lines)]


# 5xx ---------------------------------------------------------------------------------


def _server_error(facts: Facts, profile: Profile, using: Catalog) -> list[Finding]:
    status_code = facts.status or 500
    status = status_line(facts, "The server failed to handle the request.")
    message = message_lines(facts, profile)
    findings: list[Finding] = []
    body = facts.body
    is_page = body is not None and body.format == "html"
    expected = "JSON" if profile.envelope.result or profile.request.accept else "data"
    gateway_lines = [
        *header_line(facts, "Content-Type", f"An HTML page, where the API answers {expected}."),
        *(line for line in message if body and body.format == "html"),
        *header_line(facts, "Server", "The software that wrote the page."),
        *header_line(facts, "Via", "A proxy on the way (RFC 9110 §7.6.3)."),
    ]
    maintenance_found = said = False
    if status_code == 503:
        said = contains(facts.api_message, _phrases(using, profile, "503.maintenance"))
        wait = facts.wait.retry_after_seconds
        lines = [*wait_lines(facts)]
        if said:
            lines = [*message_lines(facts, profile, "The message speaks of maintenance."), *lines]
        if said or (wait is not None and wait >= MAINTENANCE_WAIT):
            if not said:
                lines.append(
                    Evidence(
                        source="header",
                        name="Retry-After",
                        value=str(wait),
                        note=f"A wait of {MAINTENANCE_WAIT} s or more announces a planned pause.",
                    )
                )
            findings.append(Finding(("503.maintenance",), LIKELY, [*lines, status]))
            maintenance_found = True
    if is_page:
        findings.append(
            Finding((f"{status_code}.gateway", "5xx.gateway"), LIKELY, [*gateway_lines, status])
        )
    transient = status_code in TRANSIENT_5XX or status_code not in using.fallback.statuses
    if transient and not said:
        likelihood = POSSIBLE if (maintenance_found or is_page) else LIKELY
        lines = [status, *wait_lines(facts), *([] if is_page else message)]
        findings.append(Finding((f"{status_code}.transient", "5xx.transient"), likelihood, lines))
    if status_code == 503 and not maintenance_found:
        documented = not profile.fallback and "503.maintenance" in profile.causes
        note = (
            f"{profile.short_name} documents 503 as maintenance, but this response does not "
            "say so and announces no long wait."
            if documented
            else "A 503 may also mean planned maintenance (RFC 9110 §15.6.4)."
        )
        findings.append(
            Finding(
                ("503.maintenance",),
                POSSIBLE,
                [Evidence(source="status", name="status", value="503", note=note)],
            )
        )
    return findings


# ----------------------------------------------------------------------------- network


_NOTHING_SENT = frozenset(
    {
        FailureKind.INVALID_URL.value,
        FailureKind.BLOCKED.value,
        FailureKind.DNS.value,
        FailureKind.CONNECTION_REFUSED.value,
        FailureKind.CONNECT_TIMEOUT.value,
        FailureKind.TLS.value,
    }
)
_TIMING_NOTES = {
    FailureKind.CONNECT_TIMEOUT.value: "No connection was opened in this time: nothing was sent.",
    FailureKind.READ_TIMEOUT.value: "The request went out; no answer came in this time, so the "
    "server may have processed it.",
}


def nothing_sent(kind: str | None) -> bool:
    """Whether a failure of this kind happened before any request byte reached a server."""
    return kind in _NOTHING_SENT


_TLS_PORTS = frozenset({443, 8443})


def _network_cause(facts: Facts, using: Catalog) -> Cause:
    kind = facts.failure_kind or FailureKind.OTHER.value
    entry = using.failure_entry(kind)
    details = using.failure_details.get(kind, {})
    detail = facts.failure_detail
    chosen = details.get(detail) if detail else None
    plain_to_tls = facts.scheme == "http" and facts.port in _TLS_PORTS
    if plain_to_tls and "plain_http_to_tls_port" in details:
        chosen = details["plain_http_to_tls_port"]
    if chosen is None:
        chosen = next(
            (d for d in details.values() if contains(facts.failure_message, d.message_contains)),
            None,
        )
    if chosen is None and kind == FailureKind.TOO_MANY_REDIRECTS.value and facts.redirects:
        urls = [url for _, url in facts.redirects]
        looped = len(set(urls)) < len(urls)
        chosen = details.get("loop" if looped else "limit")

    lines = [Evidence(source="failure", name="kind", value=kind, note=entry.title + ".")]
    if plain_to_tls and chosen is not None and chosen.key.endswith("plain_http_to_tls_port"):
        lines.append(
            Evidence(
                source="request",
                name="URL",
                value=f"http://…:{facts.port}",
                note="Plain HTTP to a port that usually speaks TLS.",
            )
        )
    if detail:
        lines.append(
            Evidence(
                source="failure",
                name="detail",
                value=detail,
                note="The client's finer reason."
                if detail in details
                else "A reason this catalog does not know yet.",
            )
        )
    if facts.failure_message:
        lines.append(
            Evidence(
                source="failure",
                name="message",
                value=facts.shown(facts.failure_message, 240),
                note="What the client reported.",
            )
        )
    if facts.host and kind in {"dns", "blocked", "tls", "connection_refused", "connect_timeout"}:
        lines.append(
            Evidence(
                source="request",
                name="host",
                value=facts.shown(facts.host),
                note="The host the request was for.",
            )
        )
    if facts.elapsed_ms:
        lines.append(
            Evidence(
                source="timing",
                name="elapsed",
                value=f"{facts.elapsed_ms:.0f} ms",
                note=_TIMING_NOTES.get(kind, "Time until the failure."),
            )
        )
    for number, (status, url) in enumerate(facts.redirects[:10], start=1):
        repeated = [u for _, u in facts.redirects].count(url) > 1
        lines.append(
            Evidence(
                source="header",
                name=f"Location (hop {number})",
                value=facts.shown(redact_url(url)),
                note=f"{status} redirect"
                + (", to an address seen before: a loop." if repeated else "."),
            )
        )
    if chosen is not None:
        return _cause(chosen, LIKELY, lines)
    return Cause(
        code=entry.code,
        title=entry.title,
        explanation=entry.explanation,
        likelihood=LIKELY,
        evidence=lines,
        playbooks=list(entry.playbooks),
        retryable=None,
    )
