"""A diagnosis' Fix applied to a request, the request diff it makes, and whether the
follow-up run proved it: pure, for "Try the fix" (the service is `services.try_fix`)."""

from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from apps.diagnosis.results import Fix
from apps.egress.redaction import REDACTED
from apps.runs.forms import RunRequest


class FixNotApplicable(Exception):
    """The fix cannot be made to this request; the message says why, to the user."""


def _without(pairs: list[tuple[str, str]], name: str) -> list[tuple[str, str]]:
    return [(n, v) for n, v in pairs if n.lower() != name.lower()]


def _value_of(pairs: list[tuple[str, str]], name: str) -> str | None:
    return next((v for n, v in pairs if n.lower() == name.lower()), None)


def _set(pairs: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    """The pairs with `name` set to `value`: in place of its first occurrence, else added."""
    done, result = False, []
    for n, v in pairs:
        if n.lower() == name.lower():
            if not done:
                result.append((n, value))
                done = True
            continue
        result.append((n, v))
    return result if done else [*result, (name, value)]


def _query_in_params(request: RunRequest) -> RunRequest:
    """The URL's own query string moved to the parameters, so that a fix finds every one."""
    parts = urlsplit(request.url)
    if not parts.query:
        return request
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    return replace(request, url=urlunsplit(parts._replace(query="")), params=pairs + request.params)


def apply_fix(request: RunRequest, fix: Fix) -> RunRequest:
    """The request with exactly the fix's change made (secrets included, as sent).

    Raises FixNotApplicable when the request has nothing the fix names."""
    request = _query_in_params(request)
    changes = fix.changes
    if fix.kind == "move_key_to_header":
        target = changes.get("to_header", "")
        if "from_param" in changes:
            value = _value_of(request.params, changes["from_param"])
            params = _without(request.params, changes["from_param"])
            headers = request.headers
        else:
            value = _value_of(request.headers, changes.get("from_header", ""))
            params = request.params
            headers = _without(request.headers, changes.get("from_header", ""))
            if value is not None and changes.get("strip_scheme") == "true":
                scheme, _, rest = value.strip().partition(" ")
                value = rest.strip() if rest.strip() else scheme
        if not target or not value:
            raise FixNotApplicable("The request no longer has the key this fix moves.")
        return replace(request, params=params, headers=_set(headers, target, value))
    if fix.kind == "set_header":
        return replace(request, headers=_set(request.headers, changes["header"], changes["value"]))
    if fix.kind == "use_method":
        return replace(request, method=changes["method"])
    if fix.kind == "set_param":
        return replace(request, params=_set(request.params, changes["param"], changes["value"]))
    if fix.kind == "remove_param":
        if _value_of(request.params, changes["param"]) is None:
            raise FixNotApplicable(f"The request has no parameter `{changes['param']}`.")
        return replace(request, params=_without(request.params, changes["param"]))
    if fix.kind == "clip_time_range":
        params = request.params
        for side in ("start", "end"):
            if f"{side}_param" in changes:
                params = _set(params, changes[f"{side}_param"], changes[side])
        return replace(request, params=params)
    if fix.kind == "use_url":
        url = changes["url"]
        if REDACTED in url:
            raise FixNotApplicable("The new URL would need a secret of the old one.")
        return replace(request, url=url)
    raise FixNotApplicable("This kind of fix cannot be tried.")


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


# The request diff ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    sign: str  # "-" (only in the original) or "+" (only in the follow-up)
    part: str  # "method", "url", "param", "header"
    text: str  # as stored: secret values are "[redacted]"


StoredShape = tuple[str, str, list[list[str]], list[list[str]]]  # method, url, query, headers


def request_diff(*, before: StoredShape, after: StoredShape) -> list[DiffLine]:
    """What changed between two stored requests (method, url, query pairs, header pairs)."""
    lines: list[DiffLine] = []
    for part, old, new in (("method", before[0], after[0]), ("url", before[1], after[1])):
        if old != new:
            lines += [DiffLine("-", part, old), DiffLine("+", part, new)]
    pairs = (("param", "=", before[2], after[2]), ("header", ": ", before[3], after[3]))
    for part, sep, old_rows, new_rows in pairs:
        old_pairs = [f"{n}{sep}{v}" for n, v in old_rows]
        new_pairs = [f"{n}{sep}{v}" for n, v in new_rows]
        lines += [DiffLine("-", part, text) for text in old_pairs if text not in new_pairs]
        lines += [DiffLine("+", part, text) for text in new_pairs if text not in old_pairs]
    return lines


# Proven or not ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixOutcome:
    state: str  # "pending" | "proven" | "not_proven"
    text: str  # "proven: 200 after moving the key to `X-Api-Key`"


def fix_action(fix: Fix) -> str:
    """The change, as in "proven: 200 after moving the key to `X-Api-Key`"."""
    c = fix.changes
    actions = {
        "move_key_to_header": lambda: f"moving the key to `{c.get('to_header', '')}`",
        "set_header": lambda: f"sending `{c.get('header', '')}: {c.get('value', '')}`",
        "use_method": lambda: f"using `{c.get('method', '')}`",
        "set_param": lambda: f"setting `{c.get('param', '')}={c.get('value', '')}`",
        "remove_param": lambda: f"removing `{c.get('param', '')}`",
        "clip_time_range": lambda: "clipping the time range to the key's access",
        "use_url": lambda: f"using `{c.get('url', '')}`",
    }
    return actions[fix.kind]() if fix.kind in actions else "the change"


def _outcome_label(status: int | None, failure_kind: str) -> str:
    return (
        str(status)
        if status is not None
        else (f"no response ({failure_kind})" if failure_kind else "no response")
    )


def fix_outcome(
    *,
    fix: Fix,
    cause: str,
    before_status: int | None,
    before_failure: str,
    after: tuple[int | None, str, str] | None,
    after_causes: list[str] | None = None,
) -> FixOutcome:
    """Whether the follow-up proved the fix. `after` is its latest finished attempt's
    (status, failure kind, diagnosis severity), None while it has none; `after_causes` the
    codes of that diagnosis' causes. Proven when that diagnosis found nothing wrong, or when
    it is a 2xx that is no error in disguise and the fixed cause is gone (another finding,
    e.g. a body off the documented schema, may remain: said so)."""
    if after is None:
        return FixOutcome("pending", "not proven yet: the follow-up run has not finished")
    status, failure_kind, severity = after
    label = _outcome_label(status, failure_kind)
    if severity == "ok":
        return FixOutcome("proven", f"proven: {label} after {fix_action(fix)}")
    success = status is not None and 200 <= status < 300 and severity != "error"
    if success and cause not in (after_causes or []):
        return FixOutcome(
            "proven", f"proven: {label} after {fix_action(fix)} (other findings remain)"
        )
    if status is not None and status == before_status:
        return FixOutcome("not_proven", f"not proven: still {label}")
    if status is None and before_status is None and failure_kind == before_failure:
        return FixOutcome("not_proven", f"not proven: still {label}")
    return FixOutcome("not_proven", f"not proven: {label} now")
