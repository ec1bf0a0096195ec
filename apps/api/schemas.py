"""The API's JSON shapes (pydantic, through django-ninja): what the OpenAPI document
describes and what every answer is checked against. Stable: fields are added, never renamed
or removed, within /api/v1/."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import AfterValidator

from apps.egress.types import FailureKind


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters cannot be stored; remove them.")
    return value


# Text that is stored as given (a recorded exchange): no NUL characters.
Text = Annotated[str, AfterValidator(_storable)]
Visibility = Literal["public", "team"]
Lifetime = Literal["1h", "1d", "7d", "30d", "never"]
StatusClass = Literal["2xx", "3xx", "4xx", "5xx", "network"]


class FieldError(Schema):
    field: str = Field(description="Where: a field name, or a dotted path into the body.")
    message: str


class Problem(Schema):
    """RFC 9457 problem details, sent as application/problem+json."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    errors: list[FieldError] = Field(
        default_factory=list, description="One entry per field that is not valid."
    )


class Pair(Schema):
    name: Text = Field(max_length=4000)
    value: Text = Field(max_length=16000)


# Runs ------------------------------------------------------------------------------------


class RunIn(Schema):
    """A request to send, with the same fields and checks as the dashboard's form."""

    method: str = Field("GET", description="GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS.")
    url: str = Field(max_length=4000, description="http(s) URL; its query string is kept.")
    params: list[Pair] = Field(default_factory=list, description="Query parameters to add.")
    headers: list[Pair] = Field(default_factory=list)
    body: str = ""
    api_key: str = Field(
        "", description="Sent as X-Api-Key; stored encrypted and never returned.", max_length=500
    )
    timeout: float | None = Field(
        None, description="Seconds; the server's default when unset.", allow_inf_nan=False
    )
    profile: str = Field("", description="API profile slug; empty: chosen from the URL.")
    follow_redirects: bool = False
    auto_retry: bool = Field(False, description="Retry with backoff while retryable.")
    env: str = Field(
        "",
        max_length=200,
        description="An environment of the team (name or id) whose values fill the "
        "{{variables}} of url, params, headers, body and api_key; the run notes it. "
        "Empty: {{…}} is sent as written.",
    )
    send_traceparent: bool | None = Field(
        None,
        description="Send a W3C traceparent with each attempt (a new trace id each time); "
        "unset: the team's setting, as the new-request form's box starts.",
    )


class CurlIn(Schema):
    """A pasted cURL command (bash, cmd or PowerShell flavour of "Copy as cURL"), or a raw
    HTTP request."""

    command: str = Field(max_length=300_000)
    api_key: str = Field("", description="Sent as X-Api-Key, unless the command has one.")
    timeout: float | None = Field(
        None, description="Seconds; else -m/--max-time, else default.", allow_inf_nan=False
    )
    profile: str = ""
    auto_retry: bool = False
    send_traceparent: bool | None = Field(
        None, description="As for POST /runs: unset, the team's setting."
    )


class TryFixIn(Schema):
    cause: str = Field(max_length=200, description="The code of the cause whose fix to try.")
    index: int | None = Field(
        default=None,
        ge=0,
        le=999,
        description="The cause's position in diagnosis.causes, when several share its code.",
    )


class ReauthenticateIn(Schema):
    api_key: str = Field(max_length=500, description="The new key, sent as X-Api-Key.")


class RequestOut(Schema):
    method: str
    url: str = Field(description="Redacted: secret query values are [redacted].")
    host: str
    query: list[Pair]
    headers: list[Pair]
    body: str
    has_api_key: bool
    timeout: float
    follow_redirects: bool
    send_traceparent: bool = Field(False, description="A W3C traceparent is sent.")
    profile: str
    curl: str = Field(description="The request as cURL; secrets are shell variables.")


class Redirect(Schema):
    status: int
    location: str


class TimingsOut(Schema):
    """Where the time of one request went, in milliseconds. null: the phase did not happen
    (DNS for an IP address, TLS for http, DNS/connect/TLS over a reused connection, the
    phases after a failure). The phases add up to `total`."""

    total: float
    blocked: float | None = Field(description="Outside the other phases (checks, retries).")
    dns: float | None
    connect: float | None = Field(description="The TCP handshake only.")
    tls: float | None
    send: float | None
    wait: float | None = Field(description="The request sent, until the first byte.")
    receive: float | None = Field(description="From the first byte to the last.")
    reused: bool = Field(description="Over a connection kept from an earlier request.")
    failed_in: str = Field(description='The phase a failure struck in; "" if none.')


class ConnectionOut(Schema):
    remote_address: str = Field(description="The pinned address connected to.")
    remote_port: int
    reused: bool
    local_port: int
    http_version: str
    bytes_sent: int
    bytes_received: int = Field(description="Status line, headers and body off the wire.")
    body_wire_bytes: int = Field(description="The body as received (framing, compression).")
    body_decoded_bytes: int = Field(description="The body decoded, as kept (up to the cap).")


class CertificateOut(Schema):
    subject: str
    common_name: str
    names: list[str] = Field(description="subjectAltName DNS names and IP addresses.")
    issuer: str
    issuer_common_name: str
    not_before: str
    not_after: str
    days_left: int = Field(description="Negative: expired.")
    key_type: str
    key_bits: int | None
    serial: str
    sha256: str
    self_issued: bool


class TlsOut(Schema):
    protocol: str
    cipher: str
    alpn: str
    verified: bool = Field(
        description="False: refused; the chain was read in a second handshake, nothing sent."
    )
    chain: list[CertificateOut] = Field(description="As presented, leaf first.")


class HopOut(Schema):
    """One request of the attempt: a redirect followed, or the final one."""

    status: int | None
    timings: TimingsOut
    connection: ConnectionOut | None
    tls: TlsOut | None


class RequestIdOut(Schema):
    header: str
    value: str


class ServerMetricOut(Schema):
    name: str
    duration_ms: float | None
    description: str


class ResultOut(Schema):
    """The latest finished attempt's outcome: a response, or a failure without one."""

    attempt: int
    outcome: Literal["response", "failure"]
    status: int | None
    reason: str
    failure_kind: str
    failure_message: str
    duration_ms: float | None
    headers: list[Pair]
    body: str = Field(description="Decoded and redacted; a JSON body is pretty-printed.")
    body_bytes: int | None
    body_truncated: bool
    redirects: list[Redirect]
    hops: list[HopOut] = Field(
        default_factory=list,
        description="Every request of the attempt in order (redirects, then the final one) "
        "with its phase timings, connection and TLS facts; empty when none was measured.",
    )
    request_ids: list[RequestIdOut] = Field(
        default_factory=list,
        description="Ids of the request found in the response: give them to the provider's "
        "support.",
    )
    server_timing: list[ServerMetricOut] = Field(
        default_factory=list, description="The response's Server-Timing metrics."
    )
    traceparent: str = Field("", description='The W3C traceparent sent; "" if none.')


class EvidenceOut(Schema):
    source: str = Field(description="status, header, body, param, request_header, request, …")
    name: str
    value: str
    note: str


class FixOut(Schema):
    kind: Literal[
        "move_key_to_header",
        "set_header",
        "use_method",
        "set_param",
        "remove_param",
        "clip_time_range",
        "use_url",
    ] = Field(description="The mechanical change; try it with POST /runs/{id}/try-fix.")
    summary: str
    changes: dict[str, str] = Field(
        description="The kind's fields, e.g. {from_param, to_header}; never a secret value."
    )
    same_host: bool = Field(
        description="False: the change sends the request to another host (never tried "
        "when the request carries a key or credentials)."
    )


class CauseOut(Schema):
    code: str = Field(description="Stable code, e.g. kaiko.401.no_key.")
    title: str
    explanation: str
    likelihood: Literal["likely", "possible"] | str
    evidence: list[EvidenceOut]
    playbooks: list[str]
    fix: FixOut | None = Field(default=None, description="The mechanical fix, when there is one.")


class PlaybookRef(Schema):
    slug: str
    title: str
    url: str


class DiagnosisOut(Schema):
    code: str = Field(description="Stable code of the most likely cause, e.g. kaiko.401.no_key.")
    severity: Literal["ok", "info", "warning", "error"] | str
    title: str
    profile: str
    api_name: str
    status: int | None
    failure_kind: str | None
    failure_detail: str | None
    api_meaning: str | None = Field(description="What the API's documentation says.")
    api_docs_url: str | None
    api_message: str | None = Field(description="The message in the response body.")
    http_meaning: str | None
    http_reference: str | None
    explanation: str
    causes: list[CauseOut] = Field(description="Most likely first.")
    playbooks: list[PlaybookRef] = Field(description="What to do, most useful first.")
    retryable: bool
    auto_retry: bool
    retry_reason: str
    retry_after_seconds: int | None
    wait_seconds: int | None = Field(description="How long to wait before trying again.")
    wait_source: str | None
    retry_hint: str


class AttemptOut(Schema):
    number: int
    reason: str
    status: str
    outcome: str
    response_status: int | None
    title: str
    duration_ms: float | None
    finished_at: datetime | None
    not_before: datetime | None
    wait_reason: str


class DiffLineOut(Schema):
    sign: Literal["-", "+"]
    part: Literal["method", "url", "param", "header"]
    text: str = Field(description="As stored: secret values are [redacted].")


class FixOutcomeOut(Schema):
    state: Literal["pending", "proven", "not_proven"]
    text: str = Field(description='e.g. "proven: 200 after moving the key to `X-Api-Key`".')


class TriedFixOut(FixOut):
    cause: str = Field(description="The code of the cause the fix was for.")
    source: uuid.UUID | None = Field(description="The run the fix was made to.")
    diff: list[DiffLineOut] = Field(description="What changed in the source's request.")
    outcome: FixOutcomeOut


class RunOut(Schema):
    id: uuid.UUID
    url: str = Field(description="The run's page in the dashboard.")
    status: Literal["queued", "running", "waiting", "done", "interrupted"]
    finished: bool
    recorded: bool = Field(description="Submitted as recorded: nothing was sent.")
    created_at: datetime
    finished_at: datetime | None
    created_by: str | None
    request: RequestOut
    result: ResultOut | None
    diagnosis: DiagnosisOut | None
    attempts: list[AttemptOut]
    tried_fix: TriedFixOut | None = Field(
        default=None, description='A run made by "Try the fix": the change and whether it worked.'
    )
    redacted: list[str] = Field(description="What was redacted, by kind and place; no values.")
    warnings: list[str] = Field(
        default_factory=list, description="About the input (e.g. cURL flags not used)."
    )


# The log ---------------------------------------------------------------------------------


class LogRunOut(Schema):
    id: uuid.UUID
    url: str
    api_url: str
    created_at: datetime
    created_by: str | None
    status: str
    method: str
    host: str
    request_url: str
    outcome: str
    response_status: int | None
    failure_kind: str
    diagnosis_code: str
    diagnosis_title: str
    severity: str
    duration_ms: float | None
    recorded: bool
    shared: bool


class HostDurationsOut(Schema):
    host: str
    runs: int = Field(description="Runs with a duration.")
    p50: float = Field(description="ms")
    p95: float = Field(description="ms")
    measured: int = Field(description="Durations the percentiles come from (the latest ones).")
    estimated: bool = Field(description="From duration buckets: within about 19%.")


class PhaseStatOut(Schema):
    phase: Literal["dns", "connect", "tls", "send", "wait", "receive"]
    p50: float | None = Field(description="ms; null when no request went through the phase.")
    p95: float | None
    measured: int = Field(
        description="Requests that went through the phase (a reused connection has no DNS, "
        "connect or TLS: it is not counted as zero for them)."
    )


class HostPhasesOut(Schema):
    host: str
    measured: int = Field(description="Final requests with measured phases.")
    phases: list[PhaseStatOut]


class TrendsOut(Schema):
    """What the Trends page shows of the filtered runs, as figures."""

    since: datetime
    until: datetime
    unit: Literal["hour", "day"]
    runs: int
    finished: int
    errors: int
    durations: list[HostDurationsOut] = Field(description="p50/p95 of durations by host.")
    phases: list[HostPhasesOut] = Field(description="p50/p95 of each phase by host.")


class LogPageOut(Schema):
    runs: list[LogRunOut]
    next_cursor: str | None = Field(description="Pass as `before` for the next page.")
    next: str | None = Field(description="The next page's URL; null on the last page.")


# Share links -----------------------------------------------------------------------------


class ShareLinkIn(Schema):
    visibility: Visibility = "public"
    lifetime: Lifetime = Field("7d", description="never: for team-only links.")


class ShareLinkOut(Schema):
    id: uuid.UUID
    visibility: Visibility | str
    state: Literal["active", "revoked", "expired"] | str
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    revoked_at: datetime | None
    view_count: int
    last_viewed_at: datetime | None


class CreatedShareLinkOut(ShareLinkOut):
    url: str = Field(description="The link: shown in this answer only (only its hash is kept).")


# Diagnose only ---------------------------------------------------------------------------


class RecordedRequest(Schema):
    method: str = Field(max_length=10)
    url: Text = Field(max_length=8000)
    headers: list[Pair] = Field(default_factory=list, max_length=200)
    body: Text = Field("", max_length=1_048_576)


class RecordedResponse(Schema):
    status: int = Field(ge=100, le=599)
    reason: Text = Field("", max_length=200)
    headers: list[Pair] = Field(default_factory=list, max_length=200)
    body: Text = Field("", max_length=1_048_576)
    http_version: Literal["HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/3"] = "HTTP/1.1"


class RecordedFailure(Schema):
    kind: FailureKind
    message: Text = Field("", max_length=2000)
    detail: Text = Field("", max_length=40)


class DiagnoseIn(Schema):
    """An exchange the caller already has: `request` with `response` or `failure`, or one
    HAR 1.2 entry (`har_entry`). Nothing is sent."""

    request: RecordedRequest | None = None
    response: RecordedResponse | None = None
    failure: RecordedFailure | None = None
    elapsed_ms: float = Field(0, ge=0, le=86_400_000, allow_inf_nan=False)
    har_entry: dict[str, Any] | None = None
    profile: str = Field("", description="API profile slug; empty: chosen from the URL.")


class MeOut(Schema):
    user: str
    team: str
    team_id: uuid.UUID
    token: str = Field(description="The token's name.")
    expires_at: datetime


# Library: collections, saved requests, environments --------------------------------------


class SavedRequestOut(Schema):
    id: uuid.UUID
    name: str
    folder: str = Field(description="“Folder/Subfolder”, empty at the top.")
    method: str
    url: str = Field(description="As saved, {{variables}} unresolved; secrets are never given.")


class CollectionOut(Schema):
    id: uuid.UUID
    name: str
    description: str
    url: str = Field(description="The collection's page in the dashboard.")
    requests: list[SavedRequestOut]


class EnvironmentOut(Schema):
    id: uuid.UUID
    name: str
    variables: list[str] = Field(description="The names of its variables (values not given).")


class SavedRunIn(Schema):
    """A saved request to run: by id, or by name (with its collection when the name is in
    several)."""

    saved: str = Field(max_length=200, description="The saved request's id or name.")
    collection: str = Field("", max_length=200, description="The collection's id or name.")
    env: str = Field("", max_length=100, description="An environment's id or name.")


class SaveRunIn(Schema):
    """Keep a run's request in a collection, as the run page's "Save to a collection" does."""

    collection: str = Field(
        max_length=200,
        description="A collection's id or name; a name the team has no collection of makes one.",
    )
    name: str = Field(
        "", max_length=200, description="The saved request's name; empty: method, host and path."
    )


class SavedOut(SavedRequestOut):
    collection: str
    url_page: str = Field(description="The saved request's page in the dashboard.")


class CollectionRunIn(Schema):
    collection: str = Field(max_length=200, description="The collection's id or name.")
    env: str = Field("", max_length=100, description="An environment's id or name.")


class SkippedOut(Schema):
    name: str
    reason: str


class CollectionRunOut(Schema):
    id: uuid.UUID
    url: str = Field(description="The summary page in the dashboard.")
    collection: str
    environment: str | None
    finished: bool
    runs: list[RunOut]
    skipped: list[SkippedOut]
