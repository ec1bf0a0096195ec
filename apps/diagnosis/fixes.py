"""The mechanical fix of a cause, when it has one: what to change in the request so that the
cause goes away (move the key to its header, set Accept, use the allowed method, set a
parameter to a valid value, clip a time range to the key's access, use the new URL).

A Fix describes the change; it never sends anything. Credentials are named by where they
are, never by value, and a change that would send the request to another host says so
(``same_host=False``): such a fix is never tried without the person's explicit choice.
"""

from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

from apps.diagnosis.causes import moment, parse_duration, range_bounds, time_params
from apps.diagnosis.envelopes import get_value
from apps.diagnosis.facts import Facts
from apps.diagnosis.profiles import ParamRule, Profile
from apps.diagnosis.results import Cause, Fix


def attach_fixes(causes: list[Cause], facts: Facts, profile: Profile) -> list[Cause]:
    """The causes, each with its fix when it has a mechanical one."""
    found = []
    for cause in causes:
        fix = fix_for(cause, facts, profile)
        found.append(replace(cause, fix=fix) if fix is not None else cause)
    return found


def fix_for(cause: Cause, facts: Facts, profile: Profile) -> Fix | None:
    key = cause.code.split(".", 1)[1] if "." in cause.code else ""
    if key == "401.key_in_query":
        return _key_from_query(facts, profile)
    if key == "401.key_in_authorization":
        return _key_from_authorization(profile)
    if key == "406.accept":
        media = profile.request.accept[0] if profile.request.accept else "application/json"
        return Fix(
            kind="set_header",
            summary=f"Send `Accept: {media}`.",
            changes={"header": "Accept", "value": media},
        )
    if key == "405.method":
        return _allowed_method(facts, profile)
    if key.startswith("400.param."):
        return _valid_param(key.removeprefix("400.param."), facts, profile)
    if key == "403.outside_access_range":
        return _clipped_range(facts, profile)
    if key in ("3xx.moved_permanently", "3xx.https_required"):
        return _to_location(facts)
    if key.endswith("plain_http_to_https_port") or key.endswith("plain_http_to_tls_port"):
        return _with_scheme(facts, "https")
    if key == "tls.not_tls":
        return _with_scheme(facts, "http")
    if key == "any.stale_host":
        current = profile.stale_hosts.get(facts.host)
        return _with_host(facts, current) if current else None
    return None


# ------------------------------------------------------------------------ credentials


def _key_from_query(facts: Facts, profile: Profile) -> Fix | None:
    header = profile.auth.header
    wrong = set(profile.auth.wrong_query_params)
    param = next((name for name, value in facts.query if name.lower() in wrong and value), None)
    if not header or param is None:
        return None
    return Fix(
        kind="move_key_to_header",
        summary=f"Move the key from the query parameter `{param}` to the header `{header}`.",
        changes={"from_param": param, "to_header": header},
    )


def _key_from_authorization(profile: Profile) -> Fix | None:
    header = profile.auth.header
    if not header:
        return None
    return Fix(
        kind="move_key_to_header",
        summary=f"Send the key in `{header}` instead of `Authorization` (without a scheme).",
        changes={"from_header": "Authorization", "to_header": header, "strip_scheme": "true"},
    )


# ------------------------------------------------------------------------- the request


def _allowed_method(facts: Facts, profile: Profile) -> Fix | None:
    allow = facts.response_header("Allow") or ""
    allowed = [m.strip().upper() for m in allow.split(",") if m.strip()]
    allowed = allowed or list(profile.request.methods)
    choices = [m for m in allowed if m != facts.method and m not in ("HEAD", "OPTIONS")]
    if len(choices) != 1 and "GET" not in choices:
        return None
    method = choices[0] if len(choices) == 1 else "GET"
    return Fix(
        kind="use_method",
        summary=f"Send the request as `{method}`.",
        changes={"method": method},
    )


def _valid_param(name: str, facts: Facts, profile: Profile) -> Fix | None:
    rule = profile.params.get(name)
    value = facts.param(name)
    if rule is None or value is None:
        return None
    together = [other for other in rule.not_with if facts.param(other) is not None]
    if together:
        return Fix(
            kind="remove_param",
            summary=f"Remove `{name}`: it must not be sent with `{together[0]}`.",
            changes={"param": name},
        )
    valid = _valid_value(rule, value)
    if valid is None or valid == value:
        return None
    return Fix(
        kind="set_param",
        summary=f"Set `{name}` to `{valid}`: it must be {rule.rule}.",
        changes={"param": name, "value": valid},
    )


def _valid_value(rule: ParamRule, value: str) -> str | None:
    """The nearest value the rule accepts, when there is an obvious one."""
    if rule.type == "integer":
        if not value.strip().isdigit():
            return None
        number = int(value.strip())
        if rule.minimum is not None and number < rule.minimum:
            return str(rule.minimum)
        if rule.maximum is not None and number > rule.maximum:
            return str(rule.maximum)
        return None
    if rule.type == "duration":
        seconds = parse_duration(value.strip(), rule)
        if seconds is None:
            lowered = value.strip().lower()
            return lowered if parse_duration(lowered, rule) is not None else None
        if rule.maximum is not None and seconds > rule.maximum:
            return _as_duration(rule.maximum, rule)
        if rule.minimum is not None and seconds < rule.minimum:
            return _as_duration(rule.minimum, rule)
        return None
    if rule.type == "choice":
        lowered = value.strip().lower()
        return next((choice for choice in rule.choices if choice.lower() == lowered), None)
    if rule.type == "datetime" and " " in value.strip():
        repaired = value.strip().replace(" ", "+")  # a "+" sent unencoded arrives as a space
        return repaired if moment(repaired) is not None else None
    if rule.type == "pattern" and rule.pattern:
        return value.strip().lower()
    return None


def _as_duration(seconds: int, rule: ParamRule) -> str | None:
    for unit, size in sorted(rule.units.items(), key=lambda item: -item[1]):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return None


def _clipped_range(facts: Facts, profile: Profile) -> Fix | None:
    names = time_params(profile)
    body = facts.body.data if facts.body is not None else None
    if names is None or body is None:
        return None
    start_name, end_name = names
    start, end = moment(facts.param(start_name)), moment(facts.param(end_name))
    clipped_start, clipped_end = start, end
    for path in (profile.envelope.access_range, profile.envelope.data_range):
        low, high, _ = range_bounds(get_value(body, path)) if path else (None, None, "")
        if low and clipped_start and clipped_start < low:
            clipped_start = low
        if high and clipped_end and clipped_end > high:
            clipped_end = high
    if (clipped_start, clipped_end) == (start, end):
        return None
    if clipped_start and clipped_end and clipped_start >= clipped_end:
        return None  # nothing of the range is inside the access
    changes: dict[str, str] = {}
    if clipped_start != start and clipped_start is not None:
        changes |= {"start_param": start_name, "start": _iso(clipped_start)}
    if clipped_end != end and clipped_end is not None:
        changes |= {"end_param": end_name, "end": _iso(clipped_end)}
    shown = ", ".join(
        f"`{changes[k + '_param']}={changes[k]}`" for k in ("start", "end") if k in changes
    )
    return Fix(
        kind="clip_time_range",
        summary=f"Clip the range to the key's access: {shown}.",
        changes=changes,
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------ URLs


def _base(url: str) -> str:
    """The URL without its query string and fragment: the request keeps its own query."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def _use_url(facts: Facts, url: str, why: str) -> Fix | None:
    try:
        target = urlsplit(url)
        host = (target.hostname or "").rstrip(".").lower()
    except ValueError:
        return None
    if target.scheme not in ("http", "https") or not host:
        return None
    base = facts.redact(_base(url))
    # From https to plain http, even on the same host, the credentials would travel in clear:
    # such a fix is treated like one to another host (never tried with a key).
    downgrade = facts.scheme == "https" and target.scheme == "http"
    same = host == facts.host and not downgrade
    if downgrade:
        note = " This sends the request, and its credentials, over plain http, unencrypted."
    else:
        note = "" if same else f" This sends the request, and its credentials, to `{host}`."
    return Fix(
        kind="use_url",
        summary=f"{why} `{base}` (the request's own query string is kept).{note}",
        changes={"url": base},
        same_host=same,
    )


def _to_location(facts: Facts) -> Fix | None:
    location = facts.response_header("Location")
    if not location:
        return None
    try:
        target = urljoin(facts.url, location.strip())
    except ValueError:
        return None
    return _use_url(facts, target, "Send the request to")


def _with_scheme(facts: Facts, scheme: str) -> Fix | None:
    try:
        parts = urlsplit(facts.url)
        return _use_url(facts, urlunsplit((scheme, *parts[1:])), f"Use {scheme.upper()}:")
    except ValueError:
        return None


def _with_host(facts: Facts, host: str) -> Fix | None:
    try:
        parts = urlsplit(facts.url)
        netloc = host + (f":{parts.port}" if parts.port else "")
        return _use_url(
            facts, urlunsplit((parts.scheme, netloc, *parts[2:])), "Use the current host:"
        )
    except ValueError:
        return None
