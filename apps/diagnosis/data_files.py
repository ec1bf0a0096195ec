"""Read and check the diagnosis' data files into a Catalog.

Everything the diagnosis knows about an API lives in TOML files under ``data/``:
``profiles/*.toml`` (one per API, plus ``generic.toml``, the fallback for any host),
``network.toml`` (failures without a response) and ``playbooks.toml``. Adding an API is
adding a file: a profile says how the API is called (its credentials, its response
envelope, its parameter rules, its paths) and, in the API's own terms, what each status and
each cause of it means (``[causes."<key>"]``; the keys the rules can tell apart are
``CAUSE_KEYS`` in ``apps.diagnosis.profiles``). A mistake in a file stops the process at the
first use with a message naming the file and the key.
"""

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from apps.diagnosis.profiles import (
    ACTIONS,
    CAUSE_KEYS,
    IDIOM_TOKENS,
    NETWORK,
    PARAM_TYPES,
    SEVERITIES,
    STATUS_CLASSES,
    AuthRules,
    Catalog,
    CatalogEntry,
    CauseEntry,
    CodeEntry,
    Envelope,
    EnvelopeShape,
    Gateway,
    Idioms,
    Link,
    ParamRule,
    PathRules,
    Playbook,
    Profile,
    ProfileSteps,
    RateLimitFacts,
    RequestRules,
    SegmentRule,
    code_key,
)
from apps.egress.types import FailureKind

DATA_DIR = Path(__file__).resolve().parent / "data"

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_NAME = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")  # cause, segment and detail names
_RFC_REFERENCE = re.compile(r"^RFC (\d+) §([\d.]+)$")
_PER_5XX = ("transient", "gateway")  # a 5xx status may word these for itself
_CAUSE_KEY = re.compile(r"^(?:[1-5][0-9]{2}|[1-5]xx|any)\.[a-z0-9_]+(?:\.[a-z0-9_]+)?$")


class CatalogError(ValueError):
    """A data file is malformed. The message names the file and the key at fault."""


def rfc_url(reference: str) -> str | None:
    """ "RFC 9110 §15.5.2" → its address on rfc-editor.org; None for other references."""
    match = _RFC_REFERENCE.match(reference)
    if not match:
        return None
    number, section = match.groups()
    return f"https://www.rfc-editor.org/rfc/rfc{number}#section-{section}"


# ------------------------------------------------------------------------------- loading


class _Table:
    """A TOML table being read: every key must be known, every error names file and key."""

    def __init__(self, data: Any, file: Path, path: str) -> None:
        self.file = file
        self.path = path
        if not isinstance(data, dict):
            self.fail("must be a table")
        self.data: dict[str, Any] = data

    def fail(self, problem: str, key: str | None = None) -> NoReturn:
        where = ".".join(part for part in (self.path, key) if part) or "(top level)"
        raise CatalogError(f"{self.file.name}: {where}: {problem}")

    def check_keys(self, allowed: set[str]) -> None:
        unknown = sorted(set(self.data) - allowed)
        if unknown:
            self.fail(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")

    def string(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail("is required and must be a non-empty string", key)
        return value.strip()

    def optional_string(self, key: str) -> str | None:
        return self.string(key) if key in self.data else None

    def strings(self, key: str, *, required: bool = True) -> tuple[str, ...]:
        if key not in self.data and not required:
            return ()
        value = self.data.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail("is required and must be a list of non-empty strings", key)
        return tuple(v.strip() for v in value)

    def boolean(self, key: str) -> bool:
        value = self.data.get(key)
        if not isinstance(value, bool):
            self.fail("is required and must be true or false", key)
        return bool(value)

    def optional_boolean(self, key: str) -> bool | None:
        return self.boolean(key) if key in self.data else None

    def optional_integer(self, key: str) -> int | None:
        if key not in self.data:
            return None
        value = self.data[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            self.fail("must be a whole number, 0 or more", key)
        return value

    def string_map(self, key: str) -> dict[str, str]:
        value = self.data.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(v, str) and v.strip() for v in value.values()
        ):
            self.fail("must be a table of non-empty strings", key)
        return {str(k): v.strip() for k, v in value.items()}

    def integer_map(self, key: str) -> dict[str, int]:
        value = self.data.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value.values()
        ):
            self.fail("must be a table of whole numbers above 0", key)
        return {str(k): v for k, v in value.items()}

    def severity(self) -> str:
        value = self.string("severity")
        if value not in SEVERITIES:
            self.fail(f"must be one of {', '.join(SEVERITIES)}, not {value!r}", "severity")
        return value

    def table(self, key: str, *, required: bool = False) -> "_Table":
        if key not in self.data and not required:
            return _Table({}, self.file, self.join(key))
        return _Table(self.data.get(key), self.file, self.join(key))

    def join(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def items(self) -> Iterator[tuple[str, "_Table"]]:
        for key, value in self.data.items():
            yield key, _Table(value, self.file, self.join(key))


def _read_toml(file: Path) -> _Table:
    try:
        with file.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise CatalogError(f"{file.name}: the file is missing from {file.parent}") from None
    except tomllib.TOMLDecodeError as error:
        raise CatalogError(f"{file.name}: not valid TOML: {error}") from None
    return _Table(data, file, "")


_ENTRY_KEYS = {"title", "explanation", "severity", "retryable", "playbooks"}
_HTTP_KEYS = {"reason", "reference", "reference_url", "says"}


def _read_entry(table: _Table, *, code: str, source: str, **fixed: Any) -> CatalogEntry:
    reference = table.optional_string("reference")
    return CatalogEntry(
        code=code,
        source=source,
        title=table.string("title"),
        explanation=table.string("explanation"),
        severity=table.severity(),
        retryable=table.boolean("retryable"),
        playbooks=table.strings("playbooks"),
        api_meaning=table.optional_string("meaning"),
        reason=table.optional_string("reason"),
        http_says=table.optional_string("says"),
        http_reference=reference,
        http_reference_url=table.optional_string("reference_url") or rfc_url(reference or ""),
        **fixed,
    )


def _read_variant(table: _Table, base: CatalogEntry) -> CatalogEntry:
    table.check_keys({"key", "message_contains", "meaning", *_ENTRY_KEYS})
    key = table.string("key")
    if not _SLUG.match(key):
        table.fail("must be lower-case letters, digits and hyphens", "key")
    contains = table.strings("message_contains")
    if not contains:
        table.fail("must list at least one phrase", "message_contains")
    return CatalogEntry(
        code=f"{base.code}.{key}",
        source=base.source,
        title=table.string("title") if "title" in table.data else base.title,
        explanation=table.string("explanation")
        if "explanation" in table.data
        else base.explanation,
        severity=table.severity() if "severity" in table.data else base.severity,
        retryable=table.boolean("retryable") if "retryable" in table.data else base.retryable,
        playbooks=table.strings("playbooks") if "playbooks" in table.data else base.playbooks,
        status=base.status,
        api_meaning=table.optional_string("meaning") or base.api_meaning,
        message_contains=contains,
    )


_CAUSE_KEYS = {"title", "explanation", "playbooks", "retryable", "message_contains"}


def _read_cause(table: _Table, *, code: str, key: str, source: str) -> CauseEntry:
    table.check_keys(_CAUSE_KEYS)
    return CauseEntry(
        code=code,
        key=key,
        source=source,
        title=table.string("title"),
        explanation=table.string("explanation"),
        playbooks=table.strings("playbooks"),
        retryable=table.optional_boolean("retryable"),
        message_contains=table.strings("message_contains", required=False),
    )


def _read_auth(top: _Table) -> AuthRules:
    table = top.table("auth")
    table.check_keys(
        {"header", "wrong_query_params", "wrong_headers", "not_needed_hosts", "not_needed_paths"}
    )
    header = table.optional_string("header")
    legacy = top.optional_string("auth_header")
    if legacy and header and legacy.lower() != header.lower():
        top.fail("says another header than auth.header; keep one", "auth_header")
    for prefix in table.strings("not_needed_paths", required=False):
        if not prefix.startswith("/"):
            table.fail(f"{prefix!r} must start with /", "not_needed_paths")
    return AuthRules(
        header=header or legacy,
        wrong_query_params=tuple(
            name.lower() for name in table.strings("wrong_query_params", required=False)
        ),
        wrong_headers=table.strings("wrong_headers", required=False),
        not_needed_hosts=tuple(
            host.lower().rstrip(".") for host in table.strings("not_needed_hosts", required=False)
        ),
        not_needed_path_prefixes=table.strings("not_needed_paths", required=False),
    )


def _read_envelope(top: _Table) -> Envelope:
    table = top.table("envelope")
    paths: tuple[str, ...] = ("result", "message", "data", "query", "access_range", "data_range")
    paths += ("continuation_token", "next_url")
    table.check_keys({*paths, "success", "error"})
    return Envelope(
        success=table.strings("success", required=False),
        error=table.strings("error", required=False),
        **{name: table.optional_string(name) for name in paths},
    )


def _read_request(top: _Table) -> RequestRules:
    table = top.table("request")
    table.check_keys({"methods", "accept"})
    return RequestRules(
        methods=tuple(m.upper() for m in table.strings("methods", required=False)),
        accept=tuple(a.lower() for a in table.strings("accept", required=False)),
    )


def _duration_seconds(value: str, units: Mapping[str, int]) -> int | None:
    match = re.fullmatch(r"([0-9]{1,9})([a-zA-Z]+)", value.strip())
    if not match or match.group(2) not in units:
        return None
    return int(match.group(1)) * units[match.group(2)]


def _read_params(top: _Table) -> dict[str, ParamRule]:
    params: dict[str, ParamRule] = {}
    for name, table in top.table("params").items():
        table.check_keys(
            {"type", "rule", "min", "max", "choices", "pattern", "units", "before", "not_with"}
        )
        kind = table.string("type")
        if kind not in PARAM_TYPES:
            table.fail(f"must be one of {', '.join(PARAM_TYPES)}, not {kind!r}", "type")
        units = table.integer_map("units")
        minimum = maximum = None
        if kind == "duration":
            if not units:
                table.fail("a duration needs units, e.g. { s = 1, m = 60 }", "units")
            for bound in ("min", "max"):
                if bound in table.data:
                    seconds = _duration_seconds(table.string(bound), units)
                    if seconds is None:
                        table.fail("must be a number followed by one of the units", bound)
                    minimum, maximum = (seconds, maximum) if bound == "min" else (minimum, seconds)
        elif kind == "integer":
            minimum, maximum = table.optional_integer("min"), table.optional_integer("max")
        choices = table.strings("choices", required=kind == "choice")
        pattern = table.optional_string("pattern")
        if kind == "pattern" and pattern is None:
            table.fail("a pattern rule needs a pattern", "pattern")
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                table.fail(f"is not a regular expression: {error}", "pattern")
        params[name] = ParamRule(
            name=name,
            type=kind,
            rule=table.string("rule"),
            minimum=minimum,
            maximum=maximum,
            choices=choices,
            pattern=pattern,
            units=MappingProxyType(units),
            before=table.optional_string("before"),
            not_with=table.strings("not_with", required=False),
        )
    for rule in params.values():
        if rule.before is not None and (
            rule.type != "datetime"
            or rule.before == rule.name
            or rule.before not in params
            or params[rule.before].type != "datetime"
        ):
            top.fail(
                f"before must name another datetime parameter, not {rule.before!r}",
                f"params.{rule.name}.before",
            )
    return params


def _read_paths(top: _Table) -> PathRules:
    table = top.table("paths")
    table.check_keys({"strip_prefixes", "templates", "segments"})
    templates = table.strings("templates", required=False)
    segments: dict[str, SegmentRule] = {}
    for name, rule in table.table("segments").items():
        rule.check_keys({"cause", "choices", "pattern", "aliases", "hint"})
        cause = rule.string("cause")
        if not re.fullmatch(r"404\.[a-z0-9_]+", cause):
            rule.fail("must be a 404 cause key such as 404.path or 404.instrument", "cause")
        pattern = rule.optional_string("pattern")
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as error:
                rule.fail(f"is not a regular expression: {error}", "pattern")
        segments[name] = SegmentRule(
            name=name,
            cause=cause,
            choices=rule.strings("choices", required=False),
            pattern=pattern,
            aliases=MappingProxyType({k.lower(): v for k, v in rule.string_map("aliases").items()}),
            hint=rule.optional_string("hint"),
        )
    for template in templates:
        if not template.startswith("/"):
            table.fail(f"{template!r} must start with /", "templates")
        for name in re.findall(r"\{([^}]*)\}", template):
            if name not in segments:
                table.fail(f"{template!r} uses {{{name}}}, which has no [paths.segments.{name}]")
    for prefix in table.strings("strip_prefixes", required=False):
        if not prefix.startswith("/") or prefix.endswith("/"):
            table.fail(f"{prefix!r} must start with / and not end with /", "strip_prefixes")
    return PathRules(
        strip_prefixes=table.strings("strip_prefixes", required=False),
        templates=templates,
        segments=MappingProxyType(segments),
    )


def _allowed_cause_keys(params: Mapping[str, ParamRule], paths: PathRules) -> set[str]:
    allowed = set(CAUSE_KEYS)
    allowed |= {f"400.param.{name}" for name in params}
    allowed |= {segment.cause for segment in paths.segments.values()}
    allowed |= {f"{status}.{name}" for status in range(500, 600) for name in _PER_5XX}
    # A class-wide idiom ("4xx.rate_limited") may be worded for one status ("403.rate_limited").
    for key in CAUSE_KEYS:
        head, _, name = key.partition(".")
        if head[0].isdigit() and head.endswith("xx"):
            first = int(head[0]) * 100
            allowed |= {f"{status}.{name}" for status in range(first, first + 100)}
    return allowed


def _read_causes(
    top: _Table,
    slug: str,
    params: Mapping[str, ParamRule],
    paths: PathRules,
    own: set[str] | frozenset[str] = frozenset(),
) -> dict[str, CauseEntry]:
    allowed = _allowed_cause_keys(params, paths) | set(own)
    causes: dict[str, CauseEntry] = {}
    for key, table in top.table("causes").items():
        if not _CAUSE_KEY.match(key) or key not in allowed:
            table.fail(
                "is not a cause the rules can tell apart; see CAUSE_KEYS in "
                'apps/diagnosis/profiles.py, "400.param.<a [params] name>" and the causes '
                "of [paths.segments]"
            )
        causes[key] = _read_cause(table, code=f"{slug}.{key}", key=key, source=slug)
    return causes


def _read_profile(file: Path) -> Profile:
    top = _read_toml(file)
    top.check_keys(
        {
            "slug", "name", "short_name", "description", "hosts", "path_prefixes",
            "auth_header", "docs_url", "errors_url", "fallback", "statuses", "classes",
            "auth", "envelope", "request", "params", "paths", "causes",
            "host_suffixes", "path_patterns", "codes", "stale_hosts", "rate_limit",
        }
    )  # fmt: skip
    slug = top.string("slug")
    if not _SLUG.match(slug) or slug == NETWORK:
        top.fail(f"must be lower-case letters, digits and hyphens, and not {NETWORK!r}", "slug")
    fallback = top.boolean("fallback") if "fallback" in top.data else False
    http_keys = _HTTP_KEYS if fallback else set()

    statuses: dict[int, CatalogEntry] = {}
    for key, table in top.table("statuses").items():
        if not key.isascii() or not key.isdigit() or not 100 <= int(key) <= 599:
            table.fail("a status must be a number from 100 to 599")
        table.check_keys({"meaning", "variants", *_ENTRY_KEYS, *http_keys})
        status = int(key)
        entry = _read_entry(table, code=f"{slug}.{status}", source=slug, status=status)
        variants = table.data.get("variants", [])
        if not isinstance(variants, list):
            table.fail("must be a list of tables ([[...variants]])", "variants")
        read = tuple(
            _read_variant(_Table(v, file, f"{table.path}.variants[{i}]"), entry)
            for i, v in enumerate(variants)
        )
        statuses[status] = replace(entry, variants=read)

    classes: dict[str, CatalogEntry] = {}
    for key, table in top.table("classes").items():
        if key not in STATUS_CLASSES:
            table.fail(f"a status class must be one of {', '.join(STATUS_CLASSES)}")
        table.check_keys({"meaning", *_ENTRY_KEYS, *http_keys})
        classes[key] = _read_entry(table, code=f"{slug}.{key}", source=slug, status_class=key)

    if fallback:
        missing = [c for c in STATUS_CLASSES if c not in classes]
        if missing:
            top.fail(f"the fallback profile must define classes {', '.join(missing)}", "classes")
        for entry in [*statuses.values(), *classes.values()]:
            if not (entry.reason and entry.http_says and entry.http_reference):
                where = entry.code.split(".", 1)[1]
                kind = "classes" if entry.status_class else "statuses"
                top.fail("needs reason, says and reference (what HTTP says)", f"{kind}.{where}")

    prefixes = top.strings("path_prefixes", required=False)
    for prefix in prefixes:
        if not prefix.startswith("/"):
            top.fail(f"{prefix!r} must start with /", "path_prefixes")
    params = _read_params(top)
    paths = _read_paths(top)
    codes = _read_codes(top)
    own = {code.cause for code in codes.values() if code.cause not in IDIOM_TOKENS}
    causes = _read_causes(top, slug, params, paths, own)
    for code in codes.values():
        if code.cause not in (*IDIOM_TOKENS, *causes, *CAUSE_KEYS):
            top.fail(
                f"{code.cause!r} is neither an idiom token ({', '.join(IDIOM_TOKENS)}) nor "
                f'a cause this profile words in [causes."{code.cause}"]',
                f"codes.{code.code}.cause",
            )
    patterns = top.strings("path_patterns", required=False)
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            top.fail(f"{pattern!r} is not a regular expression: {error}", "path_patterns")
    suffixes = tuple(s.lower() for s in top.strings("host_suffixes", required=False))
    for suffix in suffixes:
        if not suffix.startswith("."):
            top.fail(f"{suffix!r} must start with a dot", "host_suffixes")
    if fallback:
        missing = [key for key in CAUSE_KEYS if key not in causes]
        if missing:
            top.fail(f"the fallback profile must word every cause; missing: {', '.join(missing)}")
    return Profile(
        slug=slug,
        name=top.string("name"),
        short_name=top.string("short_name"),
        description=top.string("description"),
        hosts=tuple(host.lower().rstrip(".") for host in top.strings("hosts", required=False)),
        path_prefixes=prefixes,
        statuses=MappingProxyType(dict(sorted(statuses.items()))),
        classes=MappingProxyType(classes),
        docs_url=top.optional_string("docs_url"),
        errors_url=top.optional_string("errors_url"),
        fallback=fallback,
        auth=_read_auth(top),
        envelope=_read_envelope(top),
        request=_read_request(top),
        params=MappingProxyType(params),
        paths=paths,
        causes=MappingProxyType(causes),
        host_suffixes=suffixes,
        path_patterns=patterns,
        codes=MappingProxyType(codes),
        stale_hosts=MappingProxyType(
            {k.lower().rstrip("."): v for k, v in top.string_map("stale_hosts").items()}
        ),
        rate_limit=_read_rate_limit(top),
    )


def _read_codes(top: _Table) -> dict[str, CodeEntry]:
    codes: dict[str, CodeEntry] = {}
    for code, table in top.table("codes").items():
        table.check_keys({"cause", "meaning"})
        key = code_key(code)
        if not key:
            table.fail("a code needs letters or digits")
        codes[key] = CodeEntry(
            code=code, cause=table.string("cause"), meaning=table.optional_string("meaning")
        )
    return codes


def _read_rate_limit(top: _Table) -> RateLimitFacts | None:
    if "rate_limit" not in top.data:
        return None
    table = top.table("rate_limit")
    table.check_keys({"requests", "window_seconds", "per", "headers"})
    requests, window = table.optional_integer("requests"), table.optional_integer("window_seconds")
    if not requests or not window:
        table.fail("requests and window_seconds are required and above 0")
    return RateLimitFacts(
        requests=requests or 1,
        window_seconds=window or 1,
        per=table.optional_string("per") or "key",
        headers=table.boolean("headers") if "headers" in table.data else True,
    )


_NOT_IDIOMS = frozenset({"headers"})  # [codes] keys that are not idiom names


def _read_idioms(file: Path) -> Idioms:
    top = _read_toml(file)
    top.check_keys({"envelopes", "codes", "wordings", "gateways", "sign_in"})
    shapes = []
    for i, raw in enumerate(top.data.get("envelopes", [])):
        table = _Table(raw, file, f"envelopes[{i}]")
        table.check_keys({"name", "when", "message", "code", "param", "kind", "docs", "failed"})
        when = table.strings("when")
        if not when:
            table.fail("must list at least one condition", "when")
        shapes.append(
            EnvelopeShape(
                name=table.string("name"),
                when=when,
                **{
                    role: table.strings(role, required=False)
                    for role in ("message", "code", "param", "kind", "docs")
                },
                failed=table.boolean("failed") if "failed" in table.data else True,
            )
        )
    codes: dict[str, str] = {}
    for idiom in top.table("codes").data:
        if idiom in _NOT_IDIOMS:
            continue
        if idiom not in IDIOM_TOKENS:
            top.fail(f"is not an idiom token; known: {', '.join(IDIOM_TOKENS)}", f"codes.{idiom}")
        for code in top.table("codes").strings(idiom):
            key = code_key(code)
            if key in codes and codes[key] != idiom:
                top.fail(f"{code!r} is already listed under {codes[key]}", f"codes.{idiom}")
            codes[key] = idiom
    wordings: dict[str, tuple[str, ...]] = {}
    for token in top.table("wordings").data:
        if token not in IDIOM_TOKENS:
            top.fail(
                f"is not an idiom token; known: {', '.join(IDIOM_TOKENS)}", f"wordings.{token}"
            )
        wordings[token] = tuple(w.lower() for w in top.table("wordings").strings(token))
    gateways = []
    for i, raw in enumerate(top.data.get("gateways", [])):
        table = _Table(raw, file, f"gateways[{i}]")
        table.check_keys({"name", "kind", "server", "headers", "body", "block", "docs"})
        gateways.append(
            Gateway(
                name=table.string("name"),
                kind=table.string("kind"),
                **{
                    role: tuple(v.lower() for v in table.strings(role, required=False))
                    for role in ("server", "headers", "body", "block")
                },
                docs=table.optional_string("docs"),
            )
        )
    sign_in = top.table("sign_in")
    sign_in.check_keys({"page", "page_markers", "location", "hosts"})

    def lowered(key: str) -> tuple[str, ...]:
        return tuple(v.lower() for v in sign_in.strings(key, required=False))

    return Idioms(
        envelopes=tuple(shapes),
        codes=MappingProxyType(codes),
        wordings=MappingProxyType(wordings),
        gateways=tuple(gateways),
        sign_in_page=lowered("page"),
        sign_in_markers=lowered("page_markers"),
        sign_in_locations=lowered("location"),
        sign_in_hosts=lowered("hosts"),
        code_headers=top.table("codes").strings("headers", required=False),
    )


def _read_failures(
    file: Path,
) -> tuple[dict[str, CatalogEntry], dict[str, Mapping[str, CauseEntry]]]:
    top = _read_toml(file)
    top.check_keys({"failures"})
    failures: dict[str, CatalogEntry] = {}
    details: dict[str, Mapping[str, CauseEntry]] = {}
    known = {kind.value for kind in FailureKind}
    for key, table in top.table("failures", required=True).items():
        if key not in known:
            table.fail(f"is not a failure kind; known: {', '.join(sorted(known))}")
        table.check_keys({*_ENTRY_KEYS, "details"})
        failures[key] = _read_entry(
            table, code=f"{NETWORK}.{key}", source=NETWORK, failure_kind=key
        )
        found: dict[str, CauseEntry] = {}
        for detail, detail_table in table.table("details").items():
            if not _NAME.match(detail):
                detail_table.fail("a detail must be lower-case letters, digits and underscores")
            found[detail] = _read_cause(
                detail_table,
                code=f"{NETWORK}.{key}.{detail}",
                key=f"{key}.{detail}",
                source=NETWORK,
            )
        details[key] = MappingProxyType(found)
    missing = sorted(known - set(failures))
    if missing:
        top.fail(f"every failure kind needs an entry; missing: {', '.join(missing)}", "failures")
    ordered = {kind.value: failures[kind.value] for kind in FailureKind}
    return ordered, {kind.value: details[kind.value] for kind in FailureKind}


def _read_playbooks(file: Path) -> dict[str, Playbook]:
    top = _read_toml(file)
    found: dict[str, Playbook] = {}
    for slug, table in top.items():
        if not _SLUG.match(slug):
            table.fail("a playbook slug must be lower-case letters, digits and hyphens")
        table.check_keys({"title", "summary", "action", "steps", "profiles"})
        action = table.optional_string("action")
        if action is not None and action not in ACTIONS:
            table.fail(f"must be one of {', '.join(sorted(ACTIONS))}, not {action!r}", "action")
        profile_steps = []
        for profile_slug, steps_table in table.table("profiles").items():
            steps_table.check_keys({"steps", "links"})
            links = []
            for i, raw in enumerate(steps_table.data.get("links", [])):
                link = _Table(raw, file, f"{steps_table.path}.links[{i}]")
                link.check_keys({"title", "url"})
                url = link.string("url")
                if not url.startswith("https://"):
                    link.fail("must be an https:// address", "url")
                links.append(Link(title=link.string("title"), url=url))
            profile_steps.append(
                ProfileSteps(
                    profile=profile_slug,
                    steps=steps_table.strings("steps"),
                    links=tuple(links),
                )
            )
        steps = table.strings("steps")
        if not steps:
            table.fail("must list at least one step", "steps")
        found[slug] = Playbook(
            slug=slug,
            title=table.string("title"),
            summary=table.string("summary"),
            steps=steps,
            action=action,
            profile_steps=tuple(profile_steps),
        )
    if not found:
        top.fail("defines no playbook")
    return found


def _check_references(
    files: Mapping[str, str],
    profiles: list[Profile],
    failures: Mapping[str, CatalogEntry],
    playbooks: Mapping[str, Playbook],
    failure_details: Mapping[str, Mapping[str, CauseEntry]],
) -> None:
    """Links between files: every playbook named exists, every profile named exists.

    files: the file name of each source of entries (profile slugs and "network").
    """
    every: list[CatalogEntry | CauseEntry] = [e for p in profiles for e in p.entries()]
    every += [c for p in profiles for c in p.cause_entries()]
    every += list(failures.values())
    every += [c for found in failure_details.values() for c in found.values()]
    generic_causes = next((p.causes for p in profiles if p.fallback), {})
    for profile in profiles:
        for segment in profile.paths.segments.values():
            if segment.cause not in profile.causes and segment.cause not in generic_causes:
                raise CatalogError(
                    f"{files[profile.slug]}: paths.segments.{segment.name}.cause: no"
                    f' [causes."{segment.cause}"] words it'
                )
    for entry in every:
        file = files[entry.source]
        for slug in entry.playbooks:
            if slug not in playbooks:
                raise CatalogError(
                    f"{file}: {entry.code}: playbooks: no playbook {slug!r} in playbooks.toml"
                )
        if len(set(entry.playbooks)) != len(entry.playbooks):
            raise CatalogError(f"{file}: {entry.code}: playbooks: a playbook is listed twice")
        if isinstance(entry, CauseEntry):
            if not entry.playbooks:
                raise CatalogError(f"{file}: {entry.code}: playbooks: a cause needs a playbook")
            continue
        if entry.severity in ("warning", "error") and not entry.playbooks:
            raise CatalogError(
                f"{file}: {entry.code}: playbooks: severity {entry.severity} needs a playbook"
            )
    for playbook in playbooks.values():
        for steps in playbook.profile_steps:
            if steps.profile not in files or steps.profile == NETWORK:
                raise CatalogError(
                    f"playbooks.toml: {playbook.slug}.profiles.{steps.profile}: no such profile"
                )


def load_catalog(data_dir: Path | str = DATA_DIR) -> Catalog:
    """Read and check every data file under data_dir. Raises CatalogError on any mistake."""
    data_dir = Path(data_dir)
    files = sorted((data_dir / "profiles").glob("*.toml"))
    if not files:
        raise CatalogError(f"profiles/: no profile file in {data_dir / 'profiles'}")
    profiles = [_read_profile(file) for file in files]

    seen_slugs: dict[str, str] = {}
    seen_hosts: dict[str, str] = {}
    for profile, file in zip(profiles, files, strict=True):
        if profile.slug in seen_slugs:
            raise CatalogError(
                f"{file.name}: slug: {profile.slug!r} is already used by {seen_slugs[profile.slug]}"
            )
        seen_slugs[profile.slug] = file.name
        for host in profile.hosts:
            if host in seen_hosts:
                raise CatalogError(f"{file.name}: hosts: {host!r} is already in {seen_hosts[host]}")
            seen_hosts[host] = file.name
    fallbacks = [p.slug for p in profiles if p.fallback]
    if len(fallbacks) != 1:
        raise CatalogError(
            f"profiles/: exactly one profile must say fallback = true, found {len(fallbacks)}"
        )

    failures, details = _read_failures(data_dir / "network.toml")
    idioms = _read_idioms(data_dir / "idioms.toml")
    playbooks = _read_playbooks(data_dir / "playbooks.toml")
    sources = {slug: f"profiles/{name}" for slug, name in seen_slugs.items()}
    _check_references({**sources, NETWORK: "network.toml"}, profiles, failures, playbooks, details)
    ordered = sorted(profiles, key=lambda p: (p.fallback, p.slug))
    return Catalog(
        profiles=tuple(ordered),
        failures=MappingProxyType(failures),
        playbooks=MappingProxyType(playbooks),
        source=data_dir,
        failure_details=MappingProxyType(details),
        idioms=idioms,
    )
