"""The idioms real APIs use to say "no", whatever the status, for every profile.

Errors inside a 2xx (failure envelopes, GraphQL ``errors[]``, an HTML sign-in page), rate
limits answered with another status than 429, authentication idioms (``WWW-Authenticate``
challenges, OAuth 2.0 token-endpoint errors, expired tokens, signatures, clock skew, keys
for another region or environment), vendor machine codes and wordings, pages from a CDN,
WAF or gateway instead of the API, redirects, billing and legal refusals, and a host the
API no longer uses. The tables (codes, wordings, envelope shapes, products, sign-in hints)
are data in ``data/idioms.toml``; the profile's own ``[codes]`` come first.

``find_idioms`` returns findings like the status rules do, and whether they are decisive:
a decisive finding says more than the status (a 403 that is a rate limit, a 200 that is an
error), so the status rules' findings come after it, as possible causes.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from apps.diagnosis.evidence import Finding, contains, header_line, message_lines, status_line
from apps.diagnosis.facts import Facts
from apps.diagnosis.profiles import IDIOM_TOKENS, Catalog, Gateway, Idioms, Profile, code_key
from apps.diagnosis.results import LIKELY, POSSIBLE, DiagnosisContext, Evidence
from apps.egress.redaction import is_secret_header, is_secret_param

# What an idiom says when it comes with the status that already says it: not decisive.
_NATURAL = {
    "no_key": range(401, 402),
    "key_rejected": range(401, 402),
    "unauthenticated": range(401, 402),
    "no_entitlement": range(403, 404),
    "invalid_param": range(400, 500),
    "server_error": range(500, 600),
    "maintenance": range(503, 504),
    "legal": range(451, 452),
}
# Wordings, most specific first; the first that matches speaks.
_WORDING_ORDER = (
    "plain_http_to_https_port",
    "no_key",
    "clock_skew",
    "signature",
    "token_expired",
    "wrong_environment",
    "insufficient_scope",
    "invalid_token",
    "billing",
    "legal",
    "rate_limited",
    "maintenance",
    "key_rejected",
)
# Tokens that say more than any code of a generic kind ("not found", "invalid") lead, the
# most precise first: "expired" says more than "invalid token".
_SPECIFIC = (
    "plain_http_to_https_port",
    *(t for t in IDIOM_TOKENS if t.startswith("oauth_")),  # a token endpoint's own word
    "clock_skew",
    "signature",
    "token_expired",
    "wrong_environment",
    "insufficient_scope",
    "billing",
    "legal",
    "rate_limited",
    "invalid_token",
)


def _precedence(idiom: "Idiom") -> int:
    name = idiom.idiom_name
    return _SPECIFIC.index(name) if name in _SPECIFIC else len(_SPECIFIC)


_OAUTH_ERRORS = frozenset(t for t in IDIOM_TOKENS if t.startswith("oauth_"))
_CHALLENGE = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)')


@dataclass(frozen=True)
class Idiom:
    """One idiom seen: its name (or a cause key the profile words) and where it was seen."""

    idiom_name: str
    lines: tuple[Evidence, ...]


# ------------------------------------------------------------------------------ entry


def find_idioms(
    facts: Facts, profile: Profile, context: DiagnosisContext, using: Catalog
) -> tuple[list[Finding], bool]:
    """Findings from the idioms, most telling first, and whether one of them is decisive."""
    status = facts.status
    findings: list[Finding] = _stale_host(facts, profile)
    if status is None:
        return findings, bool(findings)
    idioms = using.idioms
    decisive = bool(findings)
    gateway = _gateway(facts, idioms) if status >= 400 else None
    if 300 <= status <= 399:
        found = _redirect(facts, idioms)
        findings += found
        decisive = decisive or bool(found)
    if gateway is not None and status >= 400:
        found = _gateway_page(facts, gateway, profile)
        findings += found
        decisive = decisive or bool(found)  # the product's own page says more than the status
    seen: set[str] = set()
    seen_idioms = [*_codes(facts, profile, idioms), *_challenge(facts), *_wordings(facts, idioms)]
    seen_idioms.sort(key=_precedence)  # stable: codes before wordings within one rank
    for idiom in seen_idioms:
        if idiom.idiom_name in seen:
            continue
        seen.add(idiom.idiom_name)
        is_decisive = status not in _NATURAL.get(idiom.idiom_name, ())
        if idiom.idiom_name == "rate_limited" and status == 429:
            continue  # the status rule reads it, with the history
        keys = _keys(idiom.idiom_name, facts, profile)
        if not keys:
            continue
        likelihood = LIKELY if is_decisive else POSSIBLE
        lines = [*idiom.lines, status_line(facts, _status_note(facts))]
        findings.append(Finding(keys, likelihood, lines, merge_only=not is_decisive))
        decisive = decisive or is_decisive
    if "rate_limited" not in seen and status != 429:
        found = _rate_limit_headers(facts)
        findings += found
        decisive = decisive or bool(found)
    if 200 <= status <= 299:
        found = _success_that_failed(facts, profile, idioms, decided=bool(findings))
        findings += found
        decisive = decisive or any(f.likelihood == LIKELY for f in found)
        findings += _followed_redirects(facts, idioms)
    return findings, decisive


def _status_note(facts: Facts) -> str:
    status = facts.status or 0
    if 200 <= status <= 299:
        return "The status says success; the body says otherwise."
    if 300 <= status <= 399:
        return "A redirect, not the API's answer."
    return "The status alone would say less."


# -------------------------------------------------------------------- cause keys


def _credentials_sent(facts: Facts, profile: Profile) -> bool:
    header = profile.auth.header
    if header and (facts.request_header(header) or "").strip():
        return True
    if any(value and is_secret_header(name) for name, value in facts.request_headers):
        return True
    return any(value and is_secret_param(name) for name, value in facts.query)


def _keys(idiom_name: str, facts: Facts, profile: Profile) -> tuple[str, ...]:
    """The cause keys an idiom stands for, with this status, most specific first."""
    status = facts.status or 0
    if idiom_name not in IDIOM_TOKENS:
        return (idiom_name,)  # a cause key the profile words itself
    if idiom_name == "rate_limited":
        return (
            f"{status}.rate_limited",
            "5xx.rate_limited" if status >= 500 else "4xx.rate_limited",
        )
    if idiom_name == "unauthenticated":
        return ("401.key_rejected",) if _credentials_sent(facts, profile) else ("401.no_key",)
    if idiom_name in ("no_key", "key_rejected"):
        return (f"401.{idiom_name}",)
    if idiom_name == "no_entitlement":
        return ("403.no_entitlement",)
    if idiom_name == "invalid_param":
        param = param_name(facts)
        if param and param in profile.params:
            return (f"400.param.{param}", "400.param.other")
        return ("400.param.other",) if param else ("400.other",)
    if idiom_name == "server_error":
        return (f"{status}.transient", "5xx.transient")
    if idiom_name == "maintenance":
        return ("503.maintenance",)
    if idiom_name == "legal":
        return ("451.legal",)
    if idiom_name == "billing" and status == 402:
        return ("402.payment_required", "4xx.billing")
    return (f"{status}.{idiom_name}", f"4xx.{idiom_name}")


def param_name(facts: Facts) -> str | None:
    """The parameter the body's error blames, as a name: "/data/attributes/title" → "title"."""
    error = facts.body.error if facts.body else None
    raw = error.param if error else None
    if not raw:
        return None
    name = raw.strip().rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[-1].rsplit("; ", 1)[-1]
    name = re.sub(r"\[\d*\]$", "", name)
    return name[:80] or None


# ------------------------------------------------------------------------ codes


def _codes(facts: Facts, profile: Profile, idioms: Idioms) -> list[Idiom]:
    """Machine codes in the body (the shape's code, kind) or an error-code header."""
    found: list[Idiom] = []
    error = facts.body.error if facts.body else None
    # (source, name, code); source "flag": a member set to true, named for its code
    candidates: list[tuple[str, str, str]] = []
    if error is not None:
        candidates += [
            ("body", path, value) for role, path, value in error.fields if role == "code"
        ]
        candidates += [
            ("body", path, value) for role, path, value in error.fields if role == "kind"
        ]
    candidates += _flags(facts.body.data if facts.body else None)
    for name in idioms.code_headers:
        value = facts.response_header(name)
        if value:
            candidates.append(("header", name, value.split(":", 1)[0]))
    for source, name, code in candidates:
        raw = code.rsplit("#", 1)[-1]  # "com.amazon.coral.service#ThrottlingException"
        key = code_key(raw)
        last = code_key(raw.rsplit(".", 1)[-1])  # "oauth.v2.InvalidApiKey"
        own = profile.codes.get(key) or profile.codes.get(last)
        if own is not None:
            note = (
                f"{profile.short_name} says: {own.meaning}"
                if own.meaning
                else (f"{profile.short_name}'s error code.")
            )
            found.append(Idiom(own.cause, (_code_line(facts, source, name, code, note),)))
            continue
        idiom_name = idioms.codes.get(key) or idioms.codes.get(last)
        if idiom_name is not None:
            note = f"A machine code that means: {idiom_name.replace('_', ' ')}."
            if idiom_name in _OAUTH_ERRORS:
                note = "An OAuth 2.0 error code (RFC 6749 §5.2)."
            if source == "flag":
                note = f"Set to true: the body says {idiom_name.replace('_', ' ')}."
            found.append(Idiom(idiom_name, (_code_line(facts, source, name, code, note),)))
    if found and error is not None and error.message:
        path = next(p for role, p, _ in error.fields if role == "message")
        line = Evidence(
            source="body", name=path, value=facts.shown(error.message, 200), note="What it says."
        )
        found[0] = Idiom(found[0].idiom_name, (*found[0].lines, line))
    return found


def _flags(data: object) -> list[tuple[str, str, str]]:
    """Members set to true whose name is a machine code: {"error": {"invalidToken": true}}
    says what {"error": {"code": "invalid_token"}} says. Read at the top of the body and one
    level down (the error object); the codes table decides which names count."""
    found: list[tuple[str, str, str]] = []
    if not isinstance(data, dict):
        return found
    for name, value in list(data.items())[:50]:
        if value is True:
            found.append(("flag", str(name), str(name)))
        elif isinstance(value, dict):
            found += [
                ("flag", f"{name}.{inner}", str(inner))
                for inner, flag in list(value.items())[:50]
                if flag is True
            ]
    return found


def _code_line(facts: Facts, source: str, name: str, code: str, note: str) -> Evidence:
    if source == "flag":
        return Evidence(source="body", name=name, value="true", note=note)
    return Evidence(source=source, name=name, value=facts.shown(code), note=note)


# ------------------------------------------------------------- WWW-Authenticate


def challenges(value: str) -> list[tuple[str, dict[str, str]]]:
    """``Bearer realm="x", error="invalid_token", Basic realm="y"`` → [(scheme, params)]."""
    found: list[tuple[str, dict[str, str]]] = []
    for piece in re.split(
        r",\s*(?=[A-Za-z][A-Za-z0-9_-]*\s+(?:[A-Za-z0-9_-]+\s*=|$))", value[:2000]
    ):
        piece = piece.strip()
        if not piece:
            continue
        scheme, _, rest = piece.partition(" ")
        if "=" in scheme:
            if found:  # a parameter of the previous challenge
                rest, scheme = piece, ""
            else:
                continue
        params = {k.lower(): v.strip('"') for k, v in _CHALLENGE.findall(rest)}
        if scheme:
            found.append((scheme, params))
        elif found:
            found[-1][1].update(params)
    return found


def _challenge(facts: Facts) -> list[Idiom]:
    value = facts.response_header("WWW-Authenticate")
    if not value or facts.status not in (400, 401, 403):
        return []
    for scheme, params in challenges(value):
        error = params.get("error", "").lower()
        description = params.get("error_description", "")
        line = Evidence(
            source="header",
            name="WWW-Authenticate",
            value=facts.shown(value),
            note=f"The {scheme} challenge (RFC 6750 §3) names the error `{error}`."
            if error
            else f"The server asks for {scheme} credentials (RFC 9110 §11.6.1).",
        )
        if error == "invalid_token":
            expired = contains(description, ("expired", "expiry", "lifetime"))
            return [Idiom("token_expired" if expired else "invalid_token", (line,))]
        if error == "insufficient_scope":
            lines = [line]
            if params.get("scope"):
                lines.append(
                    Evidence(
                        source="header",
                        name="scope",
                        value=facts.shown(params["scope"]),
                        note="The scope this call needs.",
                    )
                )
            return [Idiom("insufficient_scope", tuple(lines))]
    return []


# --------------------------------------------------------------------- wordings


def _said(facts: Facts) -> str:
    """What the response says in words: its message, an HTML page's title and heading, and
    for an error the other texts of its body (an XML error's details)."""
    parts = [facts.api_message or ""]
    body = facts.body
    if (facts.status or 0) < 300:
        return parts[0].lower()  # a success speaks only through a body that says it failed
    if body is not None and body.format in ("html", "text"):
        parts += [value for _, value in body.fields]
    failed = body is not None and body.error is not None and body.error.failed
    if (
        body is not None
        and body.format in ("json", "xml")
        and ((facts.status or 0) >= 400 or failed)
    ):
        parts.append(_leaves(body.data))
    return " ".join(parts).lower()


def _leaves(data: object, limit: int = 2000) -> str:
    """The strings of a parsed body, in order, up to a limit of characters."""
    found: list[str] = []
    size = 0
    pending: list[object] = [data]
    while pending and size < limit:
        item = pending.pop(0)
        if isinstance(item, str):
            found.append(item)
            size += len(item)
        elif isinstance(item, dict):
            pending[:0] = list(item.values())[:50]
        elif isinstance(item, list):
            pending[:0] = item[:20]
    return " ".join(found)[:limit]


def _wordings(facts: Facts, idioms: Idioms) -> list[Idiom]:
    said = _said(facts)
    order: tuple[str, ...] = _WORDING_ORDER
    body = facts.body
    if (facts.status or 0) < 300 and not said and body is not None and body.format == "html":
        # A page answering with success says only one thing worth reading: maintenance.
        said = " ".join(value for _, value in body.fields).lower()
        order = ("maintenance",)
    if not said.strip():
        return []
    for idiom_name in order:
        phrases = idioms.wordings.get(idiom_name, ())
        phrase = next((p for p in phrases if p in said), None)
        if phrase is None:
            continue
        name = "message"
        if body is not None and body.fields and not facts.api_message:
            name = body.fields[0][0]
        line = Evidence(
            source="body",
            name=name,
            value=facts.shown(facts.api_message or said, 200),
            note=f"The wording “{phrase}” says: {idiom_name.replace('_', ' ')}.",
        )
        return [Idiom(idiom_name, (line,))]
    return []


# ------------------------------------------------------------ rate-limit headers


def _rate_limit_headers(facts: Facts) -> list[Finding]:
    """A rate limit answered with another status than 429: no request left, or a wait."""
    status = facts.status or 0
    if status < 400 or status in (401, 407, 413, 416):
        return []
    remaining = facts.wait.quota.get("remaining") if facts.wait.quota else None
    lines = [
        Evidence(source="header", name=line.name, value=facts.shown(line.value), note=line.note)
        for line in facts.wait.lines
    ]
    exhausted = remaining == 0
    asks_to_wait = facts.wait.retry_after_seconds is not None and status < 500
    if not (exhausted or asks_to_wait or status == 420):
        return []
    note = "Not 429, but the headers say the rate limit was reached."
    if status == 420:
        note = "420 (“Enhance your calm”): an old rate-limit status of some APIs."
    keys = (f"{status}.rate_limited", "5xx.rate_limited" if status >= 500 else "4xx.rate_limited")
    return [Finding(keys, LIKELY, [*lines, status_line(facts, note)])]


# ----------------------------------------------------------------- pages, gateways


def _gateway(facts: Facts, idioms: Idioms) -> Gateway | None:
    server = (facts.response_header("Server") or "").lower()
    names = facts.response_headers
    body = facts.body
    text = body.text if body is not None and body.format in ("html", "text") else ""
    for gateway in idioms.gateways:
        if server and any(s in server for s in gateway.server):
            return gateway
        for header in gateway.headers:
            name, _, value = header.partition(":")
            if name in names and (not value or value in names[name].lower()):
                return gateway
        if text and any(phrase in text for phrase in gateway.body):
            return gateway
    return None


def _gateway_page(facts: Facts, gateway: Gateway, profile: Profile) -> list[Finding]:
    """What a product's own page says: it refused the client, or the API behind it failed."""
    body = facts.body
    if body is None or body.format not in ("html", "text", "empty"):
        return []  # the API's own JSON error, passed through the product
    status = facts.status or 0
    text = body.text
    product = Evidence(
        source="header",
        name="Server" if facts.response_header("Server") else "page",
        value=facts.shown(facts.response_header("Server") or gateway.name),
        note=f"{gateway.name} ({gateway.kind}) wrote this page, not the API.",
    )
    title = [line for line in message_lines(facts, profile) if line.name in ("<title>", "<h1>")]
    mitigated = (facts.response_header("cf-mitigated") or "").lower() == "challenge"
    refused = mitigated or any(p in text for p in gateway.block)
    if 400 <= status <= 499 and status != 429 and refused:  # a 429 page is a rate limit
        note = "The page refuses the client itself: the request never reached the API."
        return [Finding(("4xx.waf_block",), LIKELY, [product, *title, status_line(facts, note)])]
    if status >= 500:
        note = "The API behind it did not answer in time or at all."
        keys = (f"{status}.gateway", "5xx.gateway")
        return [Finding(keys, LIKELY, [product, *title, status_line(facts, note)])]
    return []


def _is_sign_in_page(facts: Facts, idioms: Idioms) -> bool:
    body = facts.body
    if body is None or body.format != "html":
        return False
    heading = " ".join(value for _, value in body.fields).lower()
    if any(word in heading for word in idioms.sign_in_page):
        return True
    return any(marker in body.text for marker in idioms.sign_in_markers)


def _is_sign_in_location(location: str, idioms: Idioms) -> bool:
    lowered = location.lower()
    try:
        host = (urlsplit(lowered).hostname or "").rstrip(".")
    except ValueError:
        host = ""
    if host and any(host == h or host.endswith("." + h) for h in idioms.sign_in_hosts):
        return True
    return any(hint in lowered for hint in idioms.sign_in_locations)


def _wants_data(facts: Facts, profile: Profile) -> bool:
    """Whether the request asked for data rather than a page."""
    accept = (facts.request_header("Accept") or "").lower()
    if "json" in accept or ("xml" in accept and "html" not in accept):
        return True
    if "text/html" in accept:
        return False
    return bool(profile.request.accept or profile.envelope.result) or not profile.fallback


def _success_that_failed(
    facts: Facts, profile: Profile, idioms: Idioms, *, decided: bool
) -> list[Finding]:
    body = facts.body
    if body is None:
        return []
    error = body.error
    if error is not None and error.failed:
        graphql = error.shape == "GraphQL errors"
        key = "2xx.graphql_errors" if graphql else "2xx.error_envelope"
        lines = message_lines(facts, profile)
        if graphql and isinstance(body.data, dict) and body.data.get("data") is not None:
            lines.append(
                Evidence(
                    source="body",
                    name="data",
                    value="(partial)",
                    note="Some fields resolved: the data is incomplete, not absent.",
                )
            )
        note = f"{error.shape}: the body says the request failed."
        lines.append(status_line(facts, note))
        return [Finding((key,), LIKELY, lines)]
    if body.format == "envelope" and facts.api_message:
        value = body.field(profile.envelope.result or "")
        if value and value.lower() in {v.lower() for v in profile.envelope.error}:
            lines = [*message_lines(facts, profile), status_line(facts, "The envelope says error.")]
            return [Finding(("2xx.error_envelope",), LIKELY, lines)]
    if body.format == "html" and not decided:
        if _is_sign_in_page(facts, idioms):
            lines = [*message_lines(facts, profile), status_line(facts, "A page for people.")]
            accept = facts.request_header("Accept")
            if accept:
                lines.append(
                    Evidence(
                        source="request_header",
                        name="Accept",
                        value=facts.shown(accept),
                        note="The request asked for data.",
                    )
                )
            return [Finding(("2xx.sign_in_page",), LIKELY, lines)]
        if _wants_data(facts, profile):
            lines = [
                *header_line(facts, "Content-Type", "An HTML page, not data."),
                *message_lines(facts, profile),
                status_line(facts, "Success, but for a page."),
            ]
            return [Finding(("2xx.unexpected_html",), LIKELY, lines)]
    return []


# ------------------------------------------------------------------------ redirects


def _redirect(facts: Facts, idioms: Idioms) -> list[Finding]:
    status = facts.status or 0
    location = facts.response_header("Location")
    if not location or status in (300, 304, 305, 306):
        return []
    shown = _shown_url(facts, location)
    line = Evidence(
        source="header", name="Location", value=shown, note="Where it sends the client."
    )
    if _is_sign_in_location(location, idioms):
        note = "An address where people sign in: the credentials were not accepted."
        return [
            Finding(
                ("3xx.sign_in_redirect",),
                LIKELY,
                [_with_note(line, note), status_line(facts, "A redirect to sign in.")],
            )
        ]
    try:
        target = urlsplit(location.strip())
    except ValueError:
        target = None
    if (
        target is not None
        and facts.scheme == "http"
        and target.scheme.lower() == "https"
        and (target.hostname or "").rstrip(".").lower() in ("", facts.host)
    ):
        note = "The same address over HTTPS."
        return [
            Finding(
                ("3xx.https_required",),
                LIKELY,
                [_with_note(line, note), status_line(facts, "HTTP is redirected to HTTPS.")],
            )
        ]
    if status in (301, 308):
        note = "The new, permanent address."
        return [
            Finding(
                ("3xx.moved_permanently",),
                LIKELY,
                [
                    _with_note(line, note),
                    status_line(facts, "A permanent redirect (RFC 9110 §15.4)."),
                ],
            )
        ]
    if status in (302, 303, 307):
        return [
            Finding(
                ("3xx.temporary_redirect",),
                LIKELY,
                [line, status_line(facts, "A temporary redirect (RFC 9110 §15.4).")],
            )
        ]
    return []


def _followed_redirects(facts: Facts, idioms: Idioms) -> list[Finding]:
    """Redirects followed on the way to a 2xx: what they say about the URL."""
    findings: list[Finding] = []
    for number, (status, location) in enumerate(facts.redirects[:10], start=1):
        line = Evidence(
            source="header",
            name=f"Location (hop {number})",
            value=_shown_url(facts, location),
            note=f"{status} redirect on the way.",
        )
        if _is_sign_in_location(location, idioms):
            findings.append(Finding(("2xx.sign_in_page", "3xx.sign_in_redirect"), LIKELY, [line]))
        elif status in (301, 308):
            findings.append(Finding(("3xx.moved_permanently",), POSSIBLE, [line]))
    return findings


def _with_note(line: Evidence, note: str) -> Evidence:
    return Evidence(source=line.source, name=line.name, value=line.value, note=note)


def _shown_url(facts: Facts, url: str) -> str:
    from apps.egress.redaction import redact_url

    return facts.shown(redact_url(url), 200)


# ----------------------------------------------------------------------- stale hosts


def _stale_host(facts: Facts, profile: Profile) -> list[Finding]:
    current = profile.stale_hosts.get(facts.host)
    if not current:
        return []
    line = Evidence(
        source="request",
        name="host",
        value=facts.shown(facts.host),
        note=f"{profile.short_name}'s documentation now uses `{current}`.",
    )
    return [Finding(("any.stale_host",), LIKELY, [line])]
