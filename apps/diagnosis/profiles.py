"""What the diagnosis knows of APIs, as types: profiles (how an API is called, its
envelope, parameter and path rules, its error table and the wording of each cause), the
network failures' entries, the remediation playbooks, and the Catalog that holds them all.

The data files under ``data/`` fill these in (``apps.diagnosis.data_files`` reads them);
``apps.diagnosis.lookups`` keeps the project's catalog, read once per process. A profile can
also be built in code (an OpenAPI document turned into a Profile) and handed to
``diagnose()`` as it is.
"""

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
        roles = ("result", "message", "data", "query", "access_range", "data_range")
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

    @property
    def fallback(self) -> Profile:
        return next(p for p in self.profiles if p.fallback)

    def get_profile(self, slug: str) -> Profile:
        for profile in self.profiles:
            if profile.slug == slug:
                return profile
        raise KeyError(slug)

    def profile_for_url(self, url: str) -> Profile:
        """The profile whose host matches, else whose path prefix matches, else generic."""
        try:
            parts = urlsplit(str(url).strip())
            host = (parts.hostname or "").rstrip(".").lower()
            path = parts.path or "/"
        except ValueError:
            return self.fallback
        for profile in self.profiles:
            if host and host in profile.hosts:
                return profile
        for profile in self.profiles:
            if any(path.startswith(prefix) for prefix in profile.path_prefixes):
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
