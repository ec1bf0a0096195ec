"""What the diagnosis knows of APIs, as types: profiles (how an API is called, its
envelope, parameter and path rules, its error table and the wording of each cause), the
network failures' entries, the remediation playbooks, and the Catalog that holds them all.

The data files under ``data/`` fill these in (``apps.diagnosis.data_files`` reads them);
``apps.diagnosis.lookups`` keeps the project's catalog, read once per process. A profile can
also be built in code (an OpenAPI document turned into a Profile) and handed to
``diagnose()`` as it is.
"""

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

from apps.egress.types import FailureKind

SEVERITIES = ("ok", "info", "warning", "error")
# One-click actions the run page may offer for a playbook.
ACTIONS = frozenset({"reauthenticate", "fix_request", "retry", "back_off", "retry_later"})
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx", "other")
NETWORK = "network"  # the code prefix of failures without a response


# The causes the rules can tell apart, by key. A profile words any of them in its own terms
# (``[causes."401.no_key"]``); the generic profile words every one, and its wording answers
# for a profile that does not. A cause's code is "<the slug of the profile wording it>.<key>",
# e.g. "kaiko.401.no_key", "http.429.burst". Besides these, a profile may word
# "400.param.<name>" for each of its [params], "404.<name>" for the cause named by a path
# segment rule, and "<status>.transient" or "<status>.gateway" for any 5xx status.
CAUSE_KEYS = (
    "400.param.other",  # the message names a parameter no rule of the profile covers
    "400.other",  # a bad request the rules cannot pin on one parameter
    "401.no_key",
    "401.key_rejected",
    "401.key_in_query",
    "401.key_in_authorization",
    "401.entitlement",  # phrases: message_contains
    "403.no_entitlement",
    "403.outside_access_range",  # phrases: message_contains
    "404.path",
    "405.method",
    "406.accept",
    "429.burst",
    "429.sustained",
    "503.maintenance",  # phrases: message_contains
    "5xx.transient",
    "5xx.gateway",
    # The idioms real APIs use, whatever the status (data/idioms.toml).
    "2xx.error_envelope",  # a 2xx whose body says the request failed
    "2xx.graphql_errors",  # GraphQL errors[] beside (partial) data
    "2xx.sign_in_page",  # an HTML sign-in page answering an API call
    "2xx.unexpected_html",  # an HTML page where the API answers data
    "3xx.sign_in_redirect",
    "3xx.https_required",  # http:// redirected to https://
    "3xx.moved_permanently",  # 301/308 to another base URL
    "3xx.temporary_redirect",
    "4xx.plain_http_to_https_port",
    "4xx.rate_limited",  # a rate limit answered with another status than 429
    "5xx.rate_limited",
    "4xx.token_expired",
    "4xx.invalid_token",
    "4xx.insufficient_scope",
    "4xx.signature",
    "4xx.clock_skew",
    "4xx.wrong_environment",  # a key for another region or environment
    "4xx.billing",
    "4xx.waf_block",  # a CDN or WAF refused the client itself
    "4xx.oauth_invalid_request",
    "4xx.oauth_invalid_client",
    "4xx.oauth_invalid_grant",
    "4xx.oauth_unauthorized_client",
    "4xx.oauth_unsupported_grant_type",
    "4xx.oauth_invalid_scope",
    "402.payment_required",
    "451.legal",
    "any.stale_host",  # a host the API's documentation no longer uses
)
# What a machine code or a wording means, whatever the status (data/idioms.toml): each turns
# into a cause key by the status it came with (``apps.diagnosis.idioms``).
IDIOM_TOKENS = (
    "rate_limited",
    "unauthenticated",
    "no_key",
    "key_rejected",
    "token_expired",
    "invalid_token",
    "insufficient_scope",
    "signature",
    "clock_skew",
    "wrong_environment",
    "billing",
    "no_entitlement",
    "invalid_param",
    "maintenance",
    "server_error",
    "legal",
    "plain_http_to_https_port",
    "oauth_invalid_request",
    "oauth_invalid_client",
    "oauth_invalid_grant",
    "oauth_unauthorized_client",
    "oauth_unsupported_grant_type",
    "oauth_invalid_scope",
)
PARAM_TYPES = ("integer", "duration", "datetime", "choice", "pattern")


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class ProfileSteps:
    """What a playbook adds for one API profile."""

    profile: str
    steps: tuple[str, ...]
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class Playbook:
    slug: str
    title: str
    summary: str
    steps: tuple[str, ...]
    action: str | None = None
    profile_steps: tuple[ProfileSteps, ...] = ()

    def steps_for(self, profile_slug: str) -> ProfileSteps | None:
        return next((ps for ps in self.profile_steps if ps.profile == profile_slug), None)


@dataclass(frozen=True)
class CatalogEntry:
    """One thing a diagnosis can say: a status of a profile, a variant of it, a status
    class, or a network failure. ``code`` is stable: it is stored with every run."""

    code: str  # "kaiko.401", "kaiko.401.entitlement", "http.502", "http.4xx", "network.dns"
    source: str  # the profile's slug, or "network"
    title: str
    explanation: str
    severity: str
    retryable: bool
    playbooks: tuple[str, ...]
    status: int | None = None
    status_class: str | None = None  # "4xx", or "other" for statuses outside 100..599
    failure_kind: str | None = None
    api_meaning: str | None = None  # the API's own words, quoted from its documentation
    reason: str | None = None  # the registered reason phrase (generic profile)
    http_says: str | None = None  # what HTTP's definition says (generic profile)
    http_reference: str | None = None  # e.g. "RFC 9110 §15.5.2"
    http_reference_url: str | None = None
    message_contains: tuple[str, ...] = ()  # variants: chosen when the message contains one
    variants: tuple["CatalogEntry", ...] = ()

    @property
    def http_meaning(self) -> str | None:
        if not self.http_says:
            return None
        if not self.http_reference:
            return self.http_says
        return f"{self.http_says.rstrip('.')} ({self.http_reference})."

    @property
    def label(self) -> str:
        """What the entry answers for, for lists: "401", "401 (entitlement)", "4xx", "dns"."""
        if self.failure_kind:
            return self.failure_kind
        if self.status_class:
            return self.status_class
        suffix = self.code.split(".", 2)[2] if self.code.count(".") >= 2 else ""
        return f"{self.status} ({suffix})" if suffix else str(self.status)

    def variant_for(self, message: str | None) -> "CatalogEntry":
        """The first variant whose words occur in the message, else the entry itself."""
        if message:
            lowered = message.lower()
            for variant in self.variants:
                if any(words.lower() in lowered for words in variant.message_contains):
                    return variant
        return self

    def with_variants(self) -> Iterator["CatalogEntry"]:
        yield self
        yield from self.variants


@dataclass(frozen=True)
class CauseEntry:
    """One likely cause of an outcome, as the catalog words it. ``code`` is stable."""

    code: str  # "kaiko.401.no_key", "http.429.burst", "network.tls.certificate_expired"
    key: str  # "401.no_key"; for network details "tls.certificate_expired"
    source: str  # the slug of the profile wording it, or "network"
    title: str
    explanation: str
    playbooks: tuple[str, ...]
    retryable: bool | None = None  # None: as the status or failure says
    message_contains: tuple[str, ...] = ()  # phrases in the message that point at it


@dataclass(frozen=True)
class AuthRules:
    """How the API expects credentials, and where people wrongly put them."""

    header: str | None = None  # "X-Api-Key"
    wrong_query_params: tuple[str, ...] = ()  # lower case: "api_key", "apikey", "key"
    wrong_headers: tuple[str, ...] = ()  # "Authorization"
    not_needed_hosts: tuple[str, ...] = ()  # hosts that need no credentials
    not_needed_path_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Envelope:
    """Where the API's response envelope keeps things: dotted paths into the JSON body."""

    result: str | None = None  # "result"
    success: tuple[str, ...] = ()  # values of `result` meaning success
    error: tuple[str, ...] = ()
    message: str | None = None
    data: str | None = None
    query: str | None = None
    access_range: str | None = None  # "access.access_range"
    data_range: str | None = None
    continuation_token: str | None = None
    next_url: str | None = None

    def fields(self) -> list[tuple[str, str]]:
        """(role, path) of every field set, for people."""
        roles: tuple[str, ...] = (
            "result",
            "message",
            "data",
            "query",
            "access_range",
            "data_range",
        )
        roles += ("continuation_token", "next_url")
        return [(role, getattr(self, role)) for role in roles if getattr(self, role)]


@dataclass(frozen=True)
class ParamRule:
    """A query parameter's rule, checked locally so that a 400 names the offender."""

    name: str
    type: str  # one of PARAM_TYPES
    rule: str  # the rule for people, e.g. "a number followed by s, m, h or d, at most 1 day"
    minimum: int | None = None  # integer: bounds; duration: bounds in seconds
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    units: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    before: str | None = None  # datetime: must be before this other parameter
    not_with: tuple[str, ...] = ()  # parameters it must not be sent with


@dataclass(frozen=True)
class SegmentRule:
    """A variable segment of the API's paths, and what a wrong value of it means."""

    name: str
    cause: str  # the cause key when it looks wrong, e.g. "404.exchange"
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    hint: str | None = None


@dataclass(frozen=True)
class PathRules:
    strip_prefixes: tuple[str, ...] = ()  # removed before matching, e.g. "/sandbox/us"
    templates: tuple[str, ...] = ()  # "/{version}/data/.../{instrument}/trades"
    segments: Mapping[str, SegmentRule] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class RequestRules:
    methods: tuple[str, ...] = ()  # methods the API answers; empty: unknown
    accept: tuple[str, ...] = ()  # media types it produces; empty: unknown


@dataclass(frozen=True)
class CodeEntry:
    """A machine code of the API's own error table, in its own words."""

    code: str  # as the API writes it: "invalid_auth", "SignatureDoesNotMatch", "20003"
    cause: str  # an idiom token ("key_rejected") or a cause key the profile words
    meaning: str | None = None  # the API's own words for it


@dataclass(frozen=True)
class RateLimitFacts:
    """What the API documents of its rate limit, for a 429 that says nothing itself."""

    requests: int
    window_seconds: int
    per: str = "key"  # what the quota is counted per: "key", "token", "IP address"
    headers: bool = True  # whether the API announces its quota in headers


@dataclass(frozen=True)
class EnvelopeShape:
    """One shape an error body takes (data/idioms.toml [[envelopes]])."""

    name: str
    when: tuple[str, ...]
    message: tuple[str, ...] = ()
    code: tuple[str, ...] = ()
    param: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    docs: tuple[str, ...] = ()
    failed: bool = True


@dataclass(frozen=True)
class Gateway:
    """A product whose own pages answer when the API behind it does not."""

    name: str
    kind: str  # "CDN", "WAF", "proxy", "load balancer", "API gateway"
    server: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()  # "cf-ray", or "via:heroku-router" (a name and a value)
    body: tuple[str, ...] = ()
    block: tuple[str, ...] = ()
    docs: str | None = None


@dataclass(frozen=True)
class Idioms:
    """The idiom tables of data/idioms.toml, lower-cased for matching."""

    envelopes: tuple[EnvelopeShape, ...] = ()
    codes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # code → token
    wordings: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    gateways: tuple[Gateway, ...] = ()
    sign_in_page: tuple[str, ...] = ()
    sign_in_markers: tuple[str, ...] = ()
    sign_in_locations: tuple[str, ...] = ()
    sign_in_hosts: tuple[str, ...] = ()
    code_headers: tuple[str, ...] = ()  # response headers that carry a machine code


def code_key(code: object) -> str:
    """A machine code compared by its letters and digits: RATE_LIMIT → "ratelimit"."""
    return "".join(ch for ch in str(code).lower() if ch.isalnum())[:80]


@dataclass(frozen=True)
class Profile:
    slug: str
    name: str
    short_name: str
    description: str
    hosts: tuple[str, ...]
    path_prefixes: tuple[str, ...]
    statuses: Mapping[int, CatalogEntry]
    classes: Mapping[str, CatalogEntry]
    docs_url: str | None = None
    errors_url: str | None = None
    fallback: bool = False
    auth: AuthRules = AuthRules()
    envelope: Envelope = Envelope()
    request: RequestRules = RequestRules()
    params: Mapping[str, ParamRule] = field(default_factory=lambda: MappingProxyType({}))
    paths: PathRules = PathRules()
    causes: Mapping[str, CauseEntry] = field(default_factory=lambda: MappingProxyType({}))
    host_suffixes: tuple[str, ...] = ()  # ".amazonaws.com": any host ending so
    path_patterns: tuple[str, ...] = ()  # regular expressions on the path, any host
    codes: Mapping[str, CodeEntry] = field(
        default_factory=lambda: MappingProxyType({})
    )  # by code_key
    stale_hosts: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({})
    )  # old → new
    rate_limit: RateLimitFacts | None = None

    @property
    def auth_header(self) -> str | None:
        return self.auth.header

    def entries(self) -> list[CatalogEntry]:
        """Every entry of this profile, statuses in order (variants after their status),
        then the class fallbacks."""
        listed = [
            e for status in sorted(self.statuses) for e in self.statuses[status].with_variants()
        ]
        return listed + [self.classes[c] for c in STATUS_CLASSES if c in self.classes]

    def cause_entries(self) -> list[CauseEntry]:
        """The causes this profile words itself, by key."""
        return [self.causes[key] for key in sorted(self.causes, key=_cause_order)]


def _cause_order(key: str) -> tuple[str, str]:
    status, _, rest = key.partition(".")
    return (status, rest)


@dataclass(frozen=True)
class Catalog:
    profiles: tuple[Profile, ...]  # the fallback profile last
    failures: Mapping[str, CatalogEntry]  # by FailureKind value
    playbooks: Mapping[str, Playbook]
    source: Path | None = field(default=None, compare=False)  # the data folder read
    # Finer causes of a failure without a response, by kind, then by detail.
    failure_details: Mapping[str, Mapping[str, CauseEntry]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    idioms: Idioms = Idioms()

    @property
    def fallback(self) -> Profile:
        return next(p for p in self.profiles if p.fallback)

    def get_profile(self, slug: str) -> Profile:
        for profile in self.profiles:
            if profile.slug == slug:
                return profile
        raise KeyError(slug)

    def profile_for_url(self, url: str) -> Profile:
        """The profile whose host matches (exactly, then by suffix), else whose path prefix
        or pattern matches, else generic."""
        try:
            parts = urlsplit(str(url).strip())
            host = (parts.hostname or "").rstrip(".").lower()
            path = parts.path or "/"
        except ValueError:
            return self.fallback
        for profile in self.profiles:
            if host and (host in profile.hosts or host in profile.stale_hosts):
                return profile
        for profile in self.profiles:
            if host and any(host.endswith(suffix) for suffix in profile.host_suffixes):
                return profile
        for profile in self.profiles:
            if any(path.startswith(prefix) for prefix in profile.path_prefixes):
                return profile
        for profile in self.profiles:
            if any(re.search(pattern, path[:2000]) for pattern in profile.path_patterns):
                return profile
        return self.fallback

    def get_playbook(self, slug: str) -> Playbook:
        return self.playbooks[slug]

    def entry_for_status(self, profile: Profile, status: int) -> CatalogEntry:
        """The profile's entry for the status, else HTTP's, else the class fallback
        (the profile's, then HTTP's)."""
        generic = self.fallback
        status_class = _status_class(status)
        return (
            profile.statuses.get(status)
            or generic.statuses.get(status)
            or profile.classes.get(status_class)
            or generic.classes[status_class]
        )

    def http_entry(self, status: int) -> CatalogEntry:
        """What HTTP itself says of the status: the generic profile's entry or class."""
        generic = self.fallback
        return generic.statuses.get(status) or generic.classes[_status_class(status)]

    def failure_entry(self, kind: str) -> CatalogEntry:
        return self.failures.get(kind) or self.failures[FailureKind.OTHER.value]

    def cause(self, profile: Profile, keys: list[str] | tuple[str, ...]) -> CauseEntry | None:
        """The wording of the first key the profile words, else the generic profile."""
        generic = self.fallback
        for key in keys:
            found = profile.causes.get(key) or generic.causes.get(key)
            if found is not None:
                return found
        return None

    def failure_detail(self, kind: str, detail: str) -> CauseEntry | None:
        return self.failure_details.get(kind, {}).get(detail)

    def all_entries(self) -> list[CatalogEntry]:
        entries = [entry for profile in self.profiles for entry in profile.entries()]
        return entries + list(self.failures.values())

    def all_causes(self) -> list[CauseEntry]:
        causes = [cause for profile in self.profiles for cause in profile.cause_entries()]
        return causes + [c for details in self.failure_details.values() for c in details.values()]

    def entries_leading_to(self, playbook_slug: str) -> list[CatalogEntry]:
        return [entry for entry in self.all_entries() if playbook_slug in entry.playbooks]

    def causes_leading_to(self, playbook_slug: str) -> list[CauseEntry]:
        return [cause for cause in self.all_causes() if playbook_slug in cause.playbooks]


def _status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status <= 599 else "other"
