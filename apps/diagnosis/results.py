"""What a diagnosis says, as plain data: Diagnosis, its ranked Causes and their Evidence.

Stored with every run as ``Diagnosis.to_dict()`` (JSON) and read back with
``Diagnosis.from_dict()``, which accepts the dicts of earlier versions. ``diagnose()`` in
``apps.diagnosis.diagnose`` makes them.
"""

from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar

# Where a line of evidence was read: the response's status, a response header, the response
# body, a query parameter, a request header, the request line (method, path segments), the
# timing of the exchange, the failure reported by the client, or the team's recent history.
EVIDENCE_SOURCES = (
    "status",
    "header",
    "body",
    "param",
    "request_header",
    "request",
    "timing",
    "failure",
    "history",
)
LIKELY = "likely"
POSSIBLE = "possible"
LIKELIHOODS = (LIKELY, POSSIBLE)


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """One fact of the exchange that supports a cause. Never holds a secret value."""

    source: str  # one of EVIDENCE_SOURCES
    name: str  # "Retry-After", "message", "interval", "X-Api-Key", "elapsed"
    value: str = ""  # short, redacted: "30", "2d", "[redacted], 36 characters", "(not sent)"
    note: str = ""  # why it matters, for people

    @classmethod
    def from_dict(cls, data: object) -> "Evidence | None":
        if not isinstance(data, Mapping):
            return None
        return cls(
            source=str(data.get("source") or ""),
            name=str(data.get("name") or ""),
            value=str(data.get("value") or ""),
            note=str(data.get("note") or ""),
        )


# The mechanical changes a Fix can describe (see Fix).
FIX_KINDS = (
    "move_key_to_header",  # from_param or from_header → to_header (strip_scheme: "true")
    "set_header",  # header, value
    "use_method",  # method
    "set_param",  # param, value
    "remove_param",  # param
    "clip_time_range",  # start_param, start, end_param, end (either pair may be absent)
    "use_url",  # url: the same request to this URL (https, a permanent move, a current host)
)


@dataclass(frozen=True, kw_only=True)
class Fix:
    """A mechanical change to the request that should remove the cause, for "Try the fix".

    ``changes`` holds the kind's fields as strings (see FIX_KINDS); never a secret: a
    credential is named by where it is, never by its value. ``same_host`` is False when the
    change would send the request (and its credentials) to another host: such a fix must
    not be tried without the person's explicit choice."""

    kind: str  # one of FIX_KINDS
    summary: str  # for people: "Move the key from the query parameter `api_key` to `X-Api-Key`."
    changes: dict[str, str] = field(default_factory=dict)
    same_host: bool = True

    @classmethod
    def from_dict(cls, data: object) -> "Fix | None":
        if not isinstance(data, Mapping) or data.get("kind") not in FIX_KINDS:
            return None
        changes = data.get("changes")
        return cls(
            kind=str(data["kind"]),
            summary=str(data.get("summary") or ""),
            changes={str(k): str(v) for k, v in changes.items()}
            if isinstance(changes, Mapping)
            else {},
            same_host=data.get("same_host") is not False,
        )


@dataclass(frozen=True, kw_only=True)
class Cause:
    """A likely cause of the outcome, with the evidence for it and what to do about it."""

    code: str  # stable: "kaiko.401.no_key", "http.429.burst", "network.tls.self_signed"
    title: str
    explanation: str = ""
    likelihood: str = LIKELY  # "likely" | "possible"
    evidence: list[Evidence] = field(default_factory=list)
    playbooks: list[str] = field(default_factory=list)  # playbook slugs, most useful first
    retryable: bool | None = None  # None: as the status or failure says
    fix: Fix | None = None  # the mechanical change that should remove it, when there is one

    @classmethod
    def from_dict(cls, data: object) -> "Cause | None":
        if not isinstance(data, Mapping) or not data.get("code"):
            return None
        evidence = data.get("evidence")
        playbooks = data.get("playbooks")
        retryable = data.get("retryable")
        return cls(
            code=str(data["code"]),
            title=str(data.get("title") or ""),
            explanation=str(data.get("explanation") or ""),
            likelihood=LIKELY if data.get("likelihood") == LIKELY else POSSIBLE,
            evidence=[
                line
                for line in map(Evidence.from_dict, evidence if isinstance(evidence, list) else [])
                if line is not None
            ],
            playbooks=[str(s) for s in playbooks] if isinstance(playbooks, list) else [],
            retryable=retryable if isinstance(retryable, bool) else None,
            fix=Fix.from_dict(data.get("fix")),
        )


@dataclass(frozen=True)
class DiagnosisContext:
    """What the caller knows beyond the exchange itself."""

    # How many 429 answers the same team got from the same host in the last window_seconds
    # (this exchange not included).
    recent_rate_limited: int = 0
    window_seconds: int = 600
    # "Now", for HTTP dates and epoch reset times when the response has no Date header.
    now: datetime | None = None
    # How many requests the same team sent to the same host in the last
    # requests_window_seconds (this one included), when the caller counts them: the
    # evidence on a 429 from an API that sends no rate-limit headers. None: not counted.
    recent_requests: int | None = None
    requests_window_seconds: int = 60


@dataclass(frozen=True, kw_only=True)
class Diagnosis:
    """What an exchange means and what to do about it. Stored with the run as to_dict()."""

    SCHEMA_VERSION: ClassVar[int] = 3  # 3: Cause.fix

    # Stable. The top cause's code when a cause is found ("kaiko.401.no_key"), else the
    # code of the status or failure entry ("kaiko.200", "http.502", "network.dns").
    code: str
    severity: str  # "ok" | "info" | "warning" | "error"
    title: str
    profile: str  # the profile's slug
    profile_name: str  # "Kaiko market-data API"
    api_name: str = ""  # how the API is named in "<api_name> says:", e.g. "Kaiko"
    status: int | None = None
    reason: str | None = None  # the registered reason phrase of the status
    failure_kind: str | None = None
    failure_detail: str | None = None  # the client's finer reason, e.g. "certificate_expired"
    failure_message: str | None = None  # what the client reported, when there is no response
    api_meaning: str | None = None  # the API's own words from its documentation
    api_docs_url: str | None = None  # where those words come from
    api_message: str | None = None  # the message in the response body
    body_format: str | None = None  # "Kaiko envelope", "RFC 9457 problem details", "HTML page"
    http_meaning: str | None = None  # what HTTP says of the status, with the RFC reference
    http_reference: str | None = None  # e.g. "RFC 9110 §15.5.2"
    http_reference_url: str | None = None
    explanation: str = ""
    entry_code: str = ""  # the status or failure entry's code: "kaiko.401", "network.tls"
    causes: list[Cause] = field(default_factory=list)  # most likely first
    playbooks: list[str] = field(default_factory=list)  # playbook slugs, most useful first
    method: str = ""
    retryable: bool = False  # whether sending the same request again can help
    auto_retry: bool = False  # retryable, and safe to repeat unattended (RFC 9110 §9.2.2)
    retry_reason: str = ""  # why retrying can or cannot help, for people
    retry_after_seconds: int | None = None  # from the Retry-After header
    wait_seconds: int | None = None  # how long to wait: Retry-After, RateLimit, *-Reset
    wait_source: str | None = None  # the header the wait comes from
    # The rate-limit quota the response announced: limit, remaining, window_seconds,
    # policy, reset_seconds (None when not said); {} when it announced none.
    quota: dict[str, Any] = field(default_factory=dict)
    retry_hint: str = ""  # one sentence on retrying, for people

    @property
    def top_cause(self) -> Cause | None:
        return self.causes[0] if self.causes else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; Diagnosis.from_dict(d.to_dict()) == d."""
        return {"version": self.SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Diagnosis":
        """A Diagnosis from a stored dict, of this version or another: keys it does not know
        are ignored, keys it lacks take their defaults, malformed parts are dropped."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in data:
                values[f.name] = data[f.name]
            elif f.default is not MISSING:
                values[f.name] = f.default
            elif f.default_factory is not MISSING:
                values[f.name] = f.default_factory()
            else:
                values[f.name] = _REQUIRED_DEFAULTS[f.name]
        values["playbooks"] = [str(slug) for slug in values["playbooks"] or []]
        values["retryable"] = bool(values["retryable"])
        values["auto_retry"] = bool(values["auto_retry"])
        causes = values["causes"] if isinstance(values["causes"], list) else []
        values["causes"] = [c for c in map(Cause.from_dict, causes) if c is not None]
        values["quota"] = dict(values["quota"]) if isinstance(values["quota"], Mapping) else {}
        return cls(**values)


_REQUIRED_DEFAULTS = {
    "code": "unknown",
    "severity": "info",
    "title": "",
    "profile": "",
    "profile_name": "",
}
