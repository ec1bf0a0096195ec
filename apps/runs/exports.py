"""The team log as files: CSV for spreadsheets, HAR 1.2 for HTTP tools.

`csv_chunks` and `har_chunks` take a filtered queryset of runs (`selectors.filtered_runs`,
newest first) and yield text. They read it in keyset batches, each a short query of its
own, so memory stays flat however many runs match and no cursor or transaction stays open
while the file is sent. Nothing is decrypted: every value comes from the stored, already
redacted columns, and is redacted again by name on the way out.
"""

import csv
import functools
import io
import json
import logging
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast
from urllib.parse import parse_qsl, urlsplit

from django.db import connections
from django.db.models import F, Lookup, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.urls import reverse

from apps.egress.redaction import (
    REDACTED,
    URL_HEADERS,
    SecretValues,
    is_secret_header,
    is_secret_name,
    is_secret_param,
    redact_body,
    redact_url,
)
from apps.egress.types import HopFacts, Timings
from apps.runs.filters import Cursor
from apps.runs.models import Attempt, Run
from apps.runs.phases import PHASE_LABELS
from apps.runs.selectors import older_than

logger = logging.getLogger(__name__)

BATCH_SIZE = 1000
# Written at the end of a file whose export failed after its first bytes were sent.
STOPPED_EARLY = "The export stopped early because of an error: this file is incomplete."
# Entries are sent in pieces of about this many characters, not one write per entry.
HAR_FLUSH_CHARS = 64 * 1024
HAR_VERSION = "1.2"
# Stored values were cleaned of the run's secret values when stored; the export redacts by
# name only (the policy's names), with no values to look for.
_NO_SECRETS = SecretValues(())
CREATOR = {"name": "API diagnostics dashboard", "version": "0.1.0"}

CSV_COLUMNS = (
    "created_at",
    "member",
    "method",
    "url",
    "host",
    "status",
    "outcome",
    "failure_kind",
    "diagnosis_code",
    "diagnosis_title",
    "severity",
    "duration_ms",
    "attempts",
    "run_url",
)
# A cell starting with one of these is a formula to a spreadsheet app.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_CSV_RUN_FIELDS = (
    "id",
    "created_at",
    "created_by__username",
    "method",
    "url",
    "host",
    "response_status",
    "outcome",
    "failure_kind",
    "diagnosis_code",
    "diagnosis_title",
    "severity",
    "duration_ms",
    "attempt_count",
)


# Reading ----------------------------------------------------------------------------------


class RunRow(NamedTuple):
    """The columns of a run a HAR entry needs, read as a tuple (no model instance)."""

    id: uuid.UUID
    created_at: datetime
    member: str | None  # the username of who made it
    method: str
    url: str
    request_headers: list[list[str]]
    request_body: str
    diagnosis_code: str
    diagnosis_title: str
    severity: str


class AttemptRow(NamedTuple):
    """The columns of an attempt a HAR entry needs, read as a tuple (no model instance)."""

    run_id: uuid.UUID
    number: int
    started_at: datetime | None
    created_at: datetime
    sent_url: str
    sent_headers: list[list[str]]
    redirects: list[list[object]]
    outcome: str
    response_status: int | None
    response_reason: str
    response_http_version: str
    response_headers: list[list[str]]
    response_body: str
    response_body_truncated: bool
    response_body_bytes: int | None
    failure_kind: str
    failure_detail: str
    failure_message: str
    duration_ms: float | None
    diagnosis_code: str
    hops: object


_RUN_ROW_FIELDS = (
    "id", "created_at", "created_by__username", "method", "url", "request_headers",
    "request_body", "diagnosis_code", "diagnosis_title", "severity",
)  # fmt: skip
# Bodies read at once when the runs' latest attempts are read (each up to
# EGRESS_MAX_BODY_BYTES): the attempts of a batch are read in groups under this many bytes.
HAR_READ_BYTES = 16 * 1024 * 1024


def run_row_batches(runs: QuerySet[Run], *, size: int = BATCH_SIZE) -> Iterator[list[RunRow]]:
    """As `run_batches`, the runs as RunRow tuples."""
    # The request headers as text, decoded once per distinct text (as `_attempt_rows`).
    columns = [
        Cast(name, TextField()) if name == "request_headers" else F(name)
        for name in _RUN_ROW_FIELDS
    ]
    rows = runs.values_list(*columns)
    batch = _run_rows(rows[:size])
    while batch:
        yield batch
        if len(batch) < size:
            return
        last = batch[-1]
        batch = _run_rows(older_than(rows, Cursor(created_at=last.created_at, id=last.id))[:size])


_HEADERS_AT = RunRow._fields.index("request_headers")


def _run_rows(rows: Iterable[Any]) -> list[RunRow]:
    found = []
    for row in rows:
        values = list(row)
        if values[_HEADERS_AT] is not None:
            values[_HEADERS_AT] = _decoded(values[_HEADERS_AT])
        found.append(RunRow._make(values))
    return found


def latest_finished_parts(
    batch: list[RunRow], *, read_bytes: int = HAR_READ_BYTES
) -> Iterator[tuple[list[RunRow], Mapping[uuid.UUID, AttemptRow]]]:
    """The runs of the batch in order, in parts whose latest finished attempts' stored
    bodies add up to at most `read_bytes` (one run at least), each with those attempts as
    AttemptRow tuples by run id (a run without a finished attempt has none)."""
    latest: dict[uuid.UUID, tuple[int, uuid.UUID, int]] = {}
    finished = (
        Attempt.objects.filter(
            _among("run_id", [run.id for run in batch]), status=Attempt.Status.DONE
        )
        .order_by()
        .values_list("run_id", "number", "pk", "response_body_bytes")
    )
    for run_id, number, pk, size in finished:
        if run_id not in latest or number > latest[run_id][0]:
            latest[run_id] = (number, pk, size or 0)
    part: list[RunRow] = []
    part_bytes = 0
    for run in batch:
        size = latest[run.id][2] if run.id in latest else 0
        if part and part_bytes + size > read_bytes:
            yield part, _attempt_rows([latest[r.id][1] for r in part if r.id in latest])
            part, part_bytes = [], 0
        part.append(run)
        part_bytes += size
    if part:
        yield part, _attempt_rows([latest[r.id][1] for r in part if r.id in latest])


class _AnyOf(Lookup):
    """`column = ANY(ids)`, the ids as one array literal ('{hex,hex,...}'::uuid[]): one
    parameter to bind, written faster than the driver writes a list of UUIDs."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        ids = "{" + ",".join([value.hex for value in self.rhs]) + "}"
        return f"{lhs} = ANY(%s::uuid[])", (*lhs_params, ids)


def _among(field_name: str, ids: list[uuid.UUID]) -> Q | Lookup:
    """`field__in=ids`; on PostgreSQL as one array parameter (`= ANY`), which spares
    preparing and parsing a thousand placeholders a batch, and reads the rows at once
    (`pk__in` a subquery would join the table to itself)."""
    if connections[Attempt.objects.db].vendor != "postgresql":
        return Q(**{f"{field_name}__in": ids})
    return _AnyOf(F(field_name), ids)


# The JSON columns of an attempt, read as their text and decoded here (see `_attempt_rows`).
_JSON_FIELDS = frozenset({"sent_headers", "redirects", "response_headers", "hops"})
# Of those, the ones whose text comes back row after row: decoded once.
_REPEATED_JSON = frozenset({"sent_headers", "redirects"})
_scan_json = cast(Any, json.JSONDecoder()).scan_once


def _loads(text: str) -> Any:
    """`json.loads(text)`; a text as PostgreSQL writes one (no white space around it) is
    read by the decoder's scanner at once."""
    try:
        value, end = _scan_json(text, 0)
    except StopIteration:
        return json.loads(text)  # raises as json.loads does
    return value if end == len(text) else json.loads(text)


@functools.lru_cache(maxsize=1024)
def _decoded(text: str) -> Any:
    """A JSON text decoded, remembered: the caller must not change what it gets."""
    return _loads(text)


_JSON_AT = [
    (index, _decoded if name in _REPEATED_JSON else _loads)
    for index, name in enumerate(AttemptRow._fields)
    if name in _JSON_FIELDS
]


class _AttemptRows(Mapping[uuid.UUID, AttemptRow]):
    """Attempts by run id, each row's JSON columns decoded when the row is looked up: what
    is decoded lives while its entry is written, not while the whole part is (the objects
    of a thousand decoded rows would outlive collections of the garbage collector, and
    make its full collections run again and again)."""

    def __init__(self, rows: dict[uuid.UUID, tuple[Any, ...]]) -> None:
        self._rows = rows

    def __getitem__(self, run_id: uuid.UUID) -> AttemptRow:
        values = list(self._rows[run_id])
        for index, decode in _JSON_AT:
            if values[index] is not None:
                values[index] = decode(values[index])
        return AttemptRow._make(values)

    def __iter__(self) -> Iterator[uuid.UUID]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


def _attempt_rows(pks: list[uuid.UUID]) -> Mapping[uuid.UUID, AttemptRow]:
    """The attempts as AttemptRow tuples by run id. JSON columns are read as text and
    decoded as `json.loads` (as the JSONField would), the repeated ones once."""
    if not pks:
        return _AttemptRows({})
    columns = [
        Cast(name, TextField()) if name in _JSON_FIELDS else F(name) for name in AttemptRow._fields
    ]
    rows = Attempt.objects.filter(_among("id", pks)).order_by().values_list(*columns)
    return _AttemptRows({row[0]: row for row in rows})


def run_batches(runs: QuerySet[Run], *, size: int = BATCH_SIZE) -> Iterator[list[Run]]:
    """The runs, in their (created_at, id) descending order, `size` at a time: each batch is
    one query that starts after the last row of the one before."""
    batch = list(runs[:size])
    while batch:
        yield batch
        if len(batch) < size:
            return
        last = batch[-1]
        batch = list(older_than(runs, Cursor(created_at=last.created_at, id=last.id))[:size])


class RunUrl:
    """The absolute URL of a run's page, without a URL lookup per row."""

    _placeholder = str(uuid.UUID(int=0))

    def __init__(self, base_url: str) -> None:
        path = reverse("runs:detail", args=[self._placeholder])
        self._head, _, self._tail = (base_url.rstrip("/") + path).partition(self._placeholder)

    def __call__(self, run_id: uuid.UUID) -> str:
        return f"{self._head}{run_id}{self._tail}"


def iso_utc(moment: datetime) -> str:
    if moment.tzinfo is UTC:  # as the database gives it
        return moment.isoformat(timespec="milliseconds")[:-6] + "Z"
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# CSV --------------------------------------------------------------------------------------


def csv_cell(value: object) -> object:
    """A value as a spreadsheet app will not run: text that starts like a formula gets a
    leading apostrophe. Numbers are written as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(run: Run, *, run_url: str) -> list[object]:
    member = run.created_by.username if run.created_by_id and run.created_by else ""
    values: list[object] = [
        iso_utc(run.created_at),
        member,
        run.method,
        redact_url(run.url),
        run.host,
        run.response_status if run.response_status is not None else "",
        run.outcome,
        run.failure_kind,
        run.diagnosis_code,
        run.diagnosis_title,
        run.severity,
        run.duration_ms if run.duration_ms is not None else "",
        run.attempt_count,
        run_url,
    ]
    return [csv_cell(value) for value in values]


def csv_chunks(
    runs: QuerySet[Run], *, base_url: str, batch_size: int = BATCH_SIZE
) -> Iterator[str]:
    """The runs as CSV: a header row, then one row per run, one chunk per batch."""
    run_url = RunUrl(base_url)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    rows = runs.select_related("created_by").only(*_CSV_RUN_FIELDS)
    try:
        for batch in run_batches(rows, size=batch_size):
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(csv_row(run, run_url=run_url(run.id)) for run in batch)
            yield buffer.getvalue()
    except Exception:
        # Headers are sent already: the file ends with a row that says it is short.
        logger.exception("CSV export stopped early")
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([STOPPED_EARLY])
        yield buffer.getvalue()


# HAR --------------------------------------------------------------------------------------


def _header_value(pairs: list[list[str]], name: str) -> str:
    lowered = name.lower()
    return next((value for key, value in pairs if key.lower() == lowered), "")


# The policy's name checks, remembered: the same few names come back on every row.
_secret_header = functools.lru_cache(maxsize=4096)(is_secret_header)
_secret_param = functools.lru_cache(maxsize=4096)(is_secret_param)
_secret_name = functools.lru_cache(maxsize=4096)(is_secret_name)
# A JSON object key: in a JSON text without a backslash, no string holds a quote, so these
# matches are exactly the text's keys.
_JSON_KEY = re.compile(r'"([^"\\]*)"\s*:')


def _har_pairs(pairs: list[list[str]] | list[tuple[str, str]], *, secret_header: bool) -> list:
    """Name/value objects with secret values redacted by name (the policy's, as
    `redact_pairs` does); URLs in headers by their query parameters' names."""
    is_secret = _secret_header if secret_header else _secret_param
    shown = []
    for name, value in pairs:
        name, value = str(name), str(value)
        if value and is_secret(name):
            value = REDACTED
        elif name.lower() in URL_HEADERS:
            value = _shown_url(value)
        shown.append({"name": name, "value": value})
    return shown


def _may_name_secret(lowered: str) -> bool:
    """Whether the text (ASCII, in lower case) holds a part of every name the policy calls
    secret (`is_secret_name`): without one, none of its keys is such a name."""
    return (
        "key" in lowered or "token" in lowered or "secret" in lowered or "pass" in lowered
        or "pwd" in lowered or "auth" in lowered or "sig" in lowered or "session" in lowered
        or "credential" in lowered or "cookie" in lowered
    )  # fmt: skip


def _body_text(text: str, mime_type: str) -> str:
    """`redact_body(text, mime_type)`'s text, without parsing a JSON body none of whose keys
    names a secret (it would come back unchanged)."""
    lowered = mime_type.lower()
    is_json = "json" in lowered or (not lowered and text.lstrip()[:1] in ("{", "["))
    if is_json and "\\" not in text:
        if text.isascii() and not _may_name_secret(text.lower()):
            return text
        if not any(map(_secret_name, set(_JSON_KEY.findall(text)))):
            return text
    return redact_body(text, mime_type, _NO_SECRETS)[0]


@functools.lru_cache(maxsize=4096)
def _shown_url(url: str) -> str:
    """`redact_url` by the policy's names alone, remembered: URLs come back row after row."""
    return redact_url(url, _NO_SECRETS)


@functools.lru_cache(maxsize=4096)
def _request_url(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The URL as shown and its query parameters as shown (name, value), remembered."""
    shown = _shown_url(url)
    try:
        query = parse_qsl(urlsplit(shown).query, keep_blank_values=True)
    except ValueError:
        query = []
    pairs = _har_pairs(query, secret_header=False)
    return shown, tuple((pair["name"], pair["value"]) for pair in pairs)


def har_request(run: Run | RunRow, attempt: Attempt | AttemptRow) -> dict[str, object]:
    url, query = _request_url(attempt.sent_url or run.url)
    headers = attempt.sent_headers or run.request_headers
    request: dict[str, object] = {
        "method": run.method,
        "url": url,
        "httpVersion": attempt.response_http_version or "HTTP/1.1",
        "cookies": [],
        "headers": _har_pairs(headers, secret_header=True),
        "queryString": [{"name": name, "value": value} for name, value in query],
        "headersSize": -1,
        "bodySize": 0,
    }
    if run.request_body:
        mime_type = _header_value(headers, "Content-Type")
        text = _body_text(run.request_body, mime_type)
        request["postData"] = {"mimeType": mime_type, "text": text}
        # The size sent (secrets and all) when known, else that of the text shown.
        sent = _header_value(headers, "Content-Length")
        request["bodySize"] = int(sent) if sent.isdigit() else len(text.encode())
    return request


def har_response(attempt: Attempt | AttemptRow) -> dict[str, object]:
    if attempt.outcome != Run.Outcome.RESPONSE:
        # No HTTP response: status 0 and the reason in `_error`, as browsers write it.
        message = attempt.failure_message or attempt.failure_kind or "No response"
        return {
            "status": 0,
            "statusText": "",
            "httpVersion": "",
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": "x-unknown"},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "comment": message,
            "_error": message,
            "_failure": {"kind": attempt.failure_kind, "detail": attempt.failure_detail},
        }
    headers = attempt.response_headers
    mime_type = _header_value(headers, "Content-Type")
    text = _body_text(attempt.response_body, mime_type)
    size = attempt.response_body_bytes
    if size is None:
        size = len(attempt.response_body.encode())
    content: dict[str, object] = {"size": size, "mimeType": mime_type, "text": text}
    if attempt.response_body_truncated:
        content["comment"] = f"Only the first {size} bytes of the body were kept."
        content["_truncated"] = True
    compressed = bool(_header_value(headers, "Content-Encoding"))
    return {
        "status": attempt.response_status or 0,
        "statusText": attempt.response_reason,
        "httpVersion": attempt.response_http_version or "HTTP/1.1",
        "cookies": [],
        "headers": _har_pairs(headers, secret_header=True),
        "content": content,
        "redirectURL": _shown_url(_header_value(headers, "Location")),
        "headersSize": -1,
        # The size on the wire is not known for a compressed body (it is kept decoded).
        "bodySize": -1 if compressed else size,
    }


def _har_phase(value: float | None) -> float:
    return -1 if value is None else round(value, 3)


def har_timings_of(timings: Timings) -> dict[str, object]:
    """HAR timings of one request: -1 for a phase that did not happen (HAR's `connect`
    includes `ssl`, as the spec asks); send, wait and receive, which HAR requires to be
    non-negative, are 0 when they did not happen, and the comment says so."""
    connect = None
    if timings.connect is not None or timings.tls is not None:
        connect = (timings.connect or 0.0) + (timings.tls or 0.0)
    result: dict[str, object] = {
        "blocked": _har_phase(timings.blocked),
        "dns": _har_phase(timings.dns),
        "connect": _har_phase(connect),
        "ssl": _har_phase(timings.tls),
        "send": _har_phase(timings.send) if timings.send is not None else 0,
        "wait": _har_phase(timings.wait) if timings.wait is not None else 0,
        "receive": _har_phase(timings.receive) if timings.receive is not None else 0,
    }
    notes = []
    if timings.reused:
        notes.append("over a reused connection (no DNS, connect or TLS)")
    if timings.failed_in:
        notes.append(f"the request failed in its phase {PHASE_LABELS[timings.failed_in]}")
    missing = [name for name in ("send", "wait", "receive") if timings.phase(name) is None]
    if missing:
        notes.append(f"{', '.join(missing)} did not happen (given as 0)")
    if notes:
        text = "; ".join(notes)
        result["comment"] = text[0].upper() + text[1:] + "."
    if timings.failed_in:
        result["_failedIn"] = timings.failed_in
    return result


def har_time(timings: dict[str, object]) -> float:
    """The entry's `time`: the sum of its timings that happened (`ssl` is within connect)."""
    phases = ("blocked", "dns", "connect", "send", "wait", "receive")
    values = [timings[name] for name in phases]
    return round(sum(v for v in values if isinstance(v, int | float) and v != -1), 3)


def har_timings(
    attempt: Attempt | AttemptRow, hops: list[HopFacts] | None = None
) -> dict[str, object]:
    """The final request's measured phases (of `hops`, else read from the attempt); for an
    attempt stored before phases were measured, only its total, given as `wait` so the sum
    stays `time`."""
    if hops is None:
        hops = _hops(attempt)
    hop = hops[-1] if hops else None
    if hop is not None:
        return har_timings_of(hop.timings)
    total = attempt.duration_ms or 0.0
    return {
        "blocked": -1,
        "dns": -1,
        "connect": -1,
        "ssl": -1,
        "send": 0,
        "wait": total,
        "receive": 0,
        "comment": "Only the total time of the exchange is measured; it is shown as wait.",
    }


def _hops(attempt: Attempt | AttemptRow) -> list[HopFacts]:
    stored = attempt.hops if isinstance(attempt.hops, list) else []
    return [hop for hop in map(HopFacts.from_dict, stored) if hop is not None]


def _member(run: Run | RunRow) -> str:
    if isinstance(run, RunRow):
        return run.member or ""
    return run.created_by.username if run.created_by_id and run.created_by else ""


def har_entry(
    run: Run | RunRow, attempt: Attempt | AttemptRow, *, run_url: str
) -> dict[str, object]:
    # The run's summary columns describe its latest finished attempt, the one exported.
    code = attempt.diagnosis_code or run.diagnosis_code
    title = run.diagnosis_title
    started = attempt.started_at or attempt.created_at or run.created_at
    hops = _hops(attempt)
    final = hops[-1] if hops else None
    timings = har_timings(attempt, hops)
    entry: dict[str, object] = {
        "startedDateTime": iso_utc(started),
        "time": har_time(timings),
        "request": har_request(run, attempt),
        "response": har_response(attempt),
        "cache": {},
        "timings": timings,
        "comment": title,
        "_diagnosis": {
            "code": code,
            "title": title,
            "severity": run.severity,
        },
        "_run": run_url,
        "_attempt": attempt.number,
        "_member": _member(run),
    }
    if final is not None and final.connection is not None:
        entry["serverIPAddress"] = final.connection.remote_address
        if final.connection.local_port:
            entry["connection"] = str(final.connection.local_port)
    if final is not None and final.tls is not None and final.tls.leaf is not None:
        leaf = final.tls.leaf
        entry["_tls"] = {
            "protocol": final.tls.protocol,
            "cipher": final.tls.cipher,
            "verified": final.tls.verified,
            "subject": leaf.subject,
            "issuer": leaf.issuer,
            "notAfter": leaf.not_after,
        }
    if attempt.redirects:
        redirects: list[dict[str, object]] = [
            {"status": status, "location": _shown_url(str(location))}
            for status, location in attempt.redirects
        ]
        entry["_redirects"] = redirects
        # The hops before the final request, when measured: one per redirect followed.
        for redirect, hop in zip(redirects, hops[:-1], strict=False):
            redirect["timings"] = har_timings_of(hop.timings)
            if hop.connection is not None:
                redirect["serverIPAddress"] = hop.connection.remote_address
    return entry


# HAR entries written as text ----------------------------------------------------------------
# `har_entry_text` writes the JSON text `har_entry` gives once encoded, from fragments: the
# parts that repeat row after row (the request as sent, header pairs, the diagnosis) are
# encoded once and remembered, numbers are written as the JSON encoder writes them, and the
# stored hops are read as the dicts they are (no HopFacts). What it does not expect (a
# redirect followed, a value of another type than the one stored by the egress client) is
# left to `har_entry` and the encoder.

_encode_entry = json.JSONEncoder(ensure_ascii=False).encode
_string = cast(Any, json.encoder).encode_basestring  # the encoder's own, ensure_ascii=False


def _number(value: int | float) -> str:
    """A number as the JSON encoder writes it (`bool` is not one here)."""
    kind = type(value)
    if kind is float:
        if value - value == 0.0:  # finite
            return float.__repr__(value)
        return "NaN" if value != value else "Infinity" if value > 0 else "-Infinity"
    if kind is int:
        return int.__repr__(value)
    raise TypeError(value)


@functools.lru_cache(maxsize=4096)
def _header_name(name: str) -> tuple[str, str, bool, bool]:
    """Of a header's name: its pair as HAR writes it up to the value, the name lowered, and
    whether its value is redacted (when not empty) or shown as a URL (as `_har_pairs`)."""
    head = '{"name": ' + _string(name) + ', "value": '
    return head, name.lower(), _secret_header(name), name.lower() in URL_HEADERS


_REDACTED_TEXT = _string(REDACTED)


@functools.lru_cache(maxsize=1024)
def _request_head(
    method: str, url: str, http_version: str, headers: tuple[tuple[str, str], ...]
) -> tuple[str, str, str]:
    """The request's object up to its `bodySize` value, and its Content-Type and
    Content-Length (as `_header_value` reads them)."""
    shown, query = _request_url(url)
    pairs = [list(pair) for pair in headers]
    rendered = _har_pairs(pairs, secret_header=True)
    head = (
        '{"method": ' + _string(method)
        + ', "url": ' + _string(shown)
        + ', "httpVersion": ' + _string(http_version)
        + ', "cookies": [], "headers": ['
        + ", ".join(
            '{"name": ' + _string(p["name"]) + ', "value": ' + _string(p["value"]) + "}"
            for p in rendered
        )
        + '], "queryString": ['
        + ", ".join(
            '{"name": ' + _string(name) + ', "value": ' + _string(value) + "}"
            for name, value in query
        )
        + '], "headersSize": -1, "bodySize": '
    )  # fmt: skip
    return head, _header_value(pairs, "Content-Type"), _header_value(pairs, "Content-Length")


def _request_text(run: Run | RunRow, attempt: Attempt | AttemptRow) -> str:
    headers = attempt.sent_headers or run.request_headers
    if not isinstance(headers, list):
        raise TypeError(headers)
    # Of text only: the remembered heads are told apart by their key, where 1 == 1.0 == True.
    key = tuple((name, value) for name, value in headers)
    if not all(type(name) is str and type(value) is str for name, value in key):
        raise TypeError(headers)
    http_version = attempt.response_http_version or "HTTP/1.1"
    head, mime_type, sent = _request_head(
        run.method, attempt.sent_url or run.url, http_version, key
    )
    if not run.request_body:
        return head + "0}"
    text = _body_text(run.request_body, mime_type)
    size = int(sent) if sent.isdigit() else len(text.encode())
    return (
        head + _number(size)
        + ', "postData": {"mimeType": ' + _string(mime_type)
        + ', "text": ' + _string(text) + "}}"
    )  # fmt: skip


@functools.lru_cache(maxsize=1024)
def _response_head(status: int, reason: str, http_version: str) -> str:
    return (
        '{"status": ' + _number(status)
        + ', "statusText": ' + _string(reason)
        + ', "httpVersion": ' + _string(http_version)
        + ', "cookies": [], "headers": ['
    )  # fmt: skip


@functools.lru_cache(maxsize=1024)
def _failure_text(message: str, kind: str, detail: str) -> str:
    return _encode_entry(
        har_response(cast(AttemptRow, _Failed(Run.Outcome.FAILURE, message, kind, detail)))
    )


class _Failed(NamedTuple):
    """The columns `har_response` reads of an attempt that got no response."""

    outcome: str
    failure_message: str
    failure_kind: str
    failure_detail: str


def _response_text(attempt: Attempt | AttemptRow) -> str:
    if attempt.outcome != Run.Outcome.RESPONSE:
        return _failure_text(attempt.failure_message, attempt.failure_kind, attempt.failure_detail)
    headers = attempt.response_headers
    if not isinstance(headers, list):
        raise TypeError(headers)
    pairs = []
    mime_type = encoding = location = None
    for name, value in headers:
        if type(name) is not str or type(value) is not str:
            raise TypeError(name)
        head, lowered, secret, url = _header_name(name)
        if value and secret:
            pairs.append(head + _REDACTED_TEXT + "}")
        else:
            pairs.append(head + _string(_shown_url(value) if url else value) + "}")
        if lowered == "content-type":
            mime_type = value if mime_type is None else mime_type
        elif lowered == "content-encoding":
            encoding = value if encoding is None else encoding
        elif lowered == "location":
            location = value if location is None else location
    body = attempt.response_body
    text = _body_text(body, mime_type or "")
    size = attempt.response_body_bytes
    if size is None:
        size = len(body.encode())
    size_text = _number(size)
    content = (
        '{"size": ' + size_text
        + ', "mimeType": ' + _string(mime_type or "")
        + ', "text": ' + _string(text)
    )  # fmt: skip
    if attempt.response_body_truncated:
        content += (
            ', "comment": '
            + _string(f"Only the first {size} bytes of the body were kept.")
            + ', "_truncated": true'
        )
    return (
        _response_head(
            attempt.response_status or 0,
            attempt.response_reason,
            attempt.response_http_version or "HTTP/1.1",
        )
        + ", ".join(pairs)
        + '], "content": '
        + content
        + '}, "redirectURL": '
        + _string(_shown_url(location or ""))
        + ', "headersSize": -1, "bodySize": '
        + ("-1" if encoding else size_text)
        + "}"
    )


def _stored_timings(hop: object) -> dict[str, Any] | None:
    """A stored hop's timings when `HopFacts.from_dict` would read the hop, else None."""
    if not isinstance(hop, dict):
        return None
    timings = hop.get("timings")
    if not isinstance(timings, dict) or not isinstance(timings.get("total"), int | float):
        return None
    float(timings["total"])  # as `Timings.from_dict`: an integer too large raises here too
    return timings


@functools.lru_cache(maxsize=256)
def _timings_tail(reused: bool, failed_in: str, missing: tuple[str, ...]) -> str:
    """The end of a timings object: its comment and `_failedIn` (as `har_timings_of`)."""
    notes = []
    if reused:
        notes.append("over a reused connection (no DNS, connect or TLS)")
    if failed_in:
        notes.append(f"the request failed in its phase {PHASE_LABELS[failed_in]}")
    if missing:
        notes.append(f"{', '.join(missing)} did not happen (given as 0)")
    tail = ""
    if notes:
        text = "; ".join(notes)
        tail += ', "comment": ' + _string(text[0].upper() + text[1:] + ".")
    if failed_in:
        tail += ', "_failedIn": ' + _string(failed_in)
    return tail + "}"


_STORED_PHASES = ("blocked", "dns", "connect", "tls", "send", "wait", "receive")
# A timings object up to its comment; %r writes a float or an int as the JSON encoder does
# when it is finite.
_TIMINGS_HEAD = (
    '{"blocked": %r, "dns": %r, "connect": %r, "ssl": %r, "send": %r, "wait": %r, "receive": %r'
)


def _timings_text(timings: dict[str, Any]) -> tuple[str, str]:
    """`har_timings_of` and `har_time` of a stored hop's timings, as text: (time, timings)."""
    blocked, dns, connect, tls, send, wait, receive = [
        float(value) if isinstance(value, (int, float)) else None  # as `Timings.from_dict`
        for value in map(timings.get, _STORED_PHASES)
    ]
    if connect is not None or tls is not None:
        connect = (connect or 0.0) + (tls or 0.0)
    # As `har_timings_of` gives them, in `har_time`'s order, then ssl.
    values: tuple[float | int, ...] = (
        -1 if blocked is None else round(blocked, 3),
        -1 if dns is None else round(dns, 3),
        -1 if connect is None else round(connect, 3),
        0 if send is None else round(send, 3),
        0 if wait is None else round(wait, 3),
        0 if receive is None else round(receive, 3),
        -1 if tls is None else round(tls, 3),
    )
    time = round(sum([v for v in values[:6] if v != -1]), 3)
    tail = _timings_tail(
        bool(timings.get("reused")),
        str(timings.get("failed_in") or ""),
        (() if send is not None else ("send",))
        + (() if wait is not None else ("wait",))
        + (() if receive is not None else ("receive",)),
    )
    b, d, c, s, w, r, ssl = values
    if time - time == 0.0:  # finite: so is every value (ssl is within connect)
        return repr(time), _TIMINGS_HEAD % (b, d, c, ssl, s, w, r) + tail
    number = _number
    text = _TIMINGS_HEAD.replace("%r", "%s") % tuple(map(number, (b, d, c, ssl, s, w, r)))
    return number(time), text + tail


@functools.lru_cache(maxsize=1024)
def _diagnosis_text(code: str, title: str, severity: str) -> str:
    return (
        ', "comment": ' + _string(title)
        + ', "_diagnosis": {"code": ' + _string(code)
        + ', "title": ' + _string(title)
        + ', "severity": ' + _string(severity) + "}"
    )  # fmt: skip


@functools.lru_cache(maxsize=256)
def _member_text(member: str) -> str:
    return _string(member)


def _final_hop_text(hop: dict[str, Any]) -> str:
    """The entry's fields from its final request's connection and TLS facts (read as
    `ConnectionFacts.from_dict` and `TlsFacts.from_dict` read them)."""
    text = ""
    facts = hop.get("connection")
    if isinstance(facts, dict) and facts.get("remote_address"):
        text += ', "serverIPAddress": ' + _string(str(facts["remote_address"]))
        port = facts.get("local_port")
        port = port if isinstance(port, int) else 0
        if port:
            text += ', "connection": ' + _string(str(port))
    tls = hop.get("tls")
    if isinstance(tls, dict):
        chain = tls.get("chain")
        leaf = (
            next((c for c in chain if isinstance(c, dict)), None)
            if isinstance(chain, list)
            else None
        )
        if leaf is not None:
            text += (
                ', "_tls": {"protocol": ' + _string(str(tls.get("protocol") or ""))
                + ', "cipher": ' + _string(str(tls.get("cipher") or ""))
                + ', "verified": ' + ("true" if tls.get("verified", True) else "false")
                + ', "subject": ' + _string(str(leaf.get("subject") or ""))
                + ', "issuer": ' + _string(str(leaf.get("issuer") or ""))
                + ', "notAfter": ' + _string(str(leaf.get("not_after") or "")) + "}"
            )  # fmt: skip
    return text


def _fast_entry_text(run: Run | RunRow, attempt: Attempt | AttemptRow, run_url: str) -> str:
    stored = attempt.hops if isinstance(attempt.hops, list) else []
    # Redirects followed (and the hops before the final one, which come with them) are
    # written by `har_entry`: few runs have them.
    if attempt.redirects or len(stored) > 1 or type(attempt.number) is not int:
        raise TypeError("left to har_entry")
    final, timings = None, None
    for hop in reversed(stored):
        timings = _stored_timings(hop)
        if timings is not None:
            final = hop
            break
    if final is not None and timings is not None:
        time, timings_text = _timings_text(timings)
    else:
        total = attempt.duration_ms or 0.0
        phases = (0, total, 0)  # send, wait and receive (`har_time`)
        time = _number(round(sum(v for v in phases if isinstance(v, int | float) and v != -1), 3))
        timings_text = (
            '{"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0, "wait": '
            + _number(total)
            + ', "receive": 0, "comment": "Only the total time of the exchange is measured; '
            'it is shown as wait."}'
        )
    started = attempt.started_at or attempt.created_at or run.created_at
    return _ENTRY % (
        _string(iso_utc(started)),
        time,
        _request_text(run, attempt),
        _response_text(attempt),
        timings_text,
        _diagnosis_text(
            attempt.diagnosis_code or run.diagnosis_code, run.diagnosis_title, run.severity
        ),
        _string(run_url),
        attempt.number,
        _member_text(_member(run)),
        _final_hop_text(final) if final is not None else "",
    )


_ENTRY = (
    '{"startedDateTime": %s, "time": %s, "request": %s, "response": %s, "cache": {}, '
    '"timings": %s%s, "_run": %s, "_attempt": %d, "_member": %s%s}'
)


def har_entry_text(run: Run | RunRow, attempt: Attempt | AttemptRow, *, run_url: str) -> str:
    """The JSON text of `har_entry(run, attempt, run_url=run_url)`, the same to the byte."""
    try:
        return _fast_entry_text(run, attempt, run_url)
    except Exception:
        # What the fast path does not expect: `har_entry` writes it, or raises as it would.
        return _encode_entry(har_entry(run, attempt, run_url=run_url))


def har_chunks(
    runs: QuerySet[Run], *, base_url: str, batch_size: int = BATCH_SIZE
) -> Iterator[str]:
    """The runs as one HAR 1.2 document, an entry per run from its latest finished attempt
    (runs not finished yet have none), newest first as in the log."""
    run_url = RunUrl(base_url)
    yield (
        '{"log": {"version": '
        + json.dumps(HAR_VERSION)
        + ', "creator": '
        + json.dumps(CREATOR)
        + ', "pages": [], "entries": ['
    )
    separator = ""
    pending: list[str] = []
    pending_chars = 0
    skipped = 0
    try:
        for batch in run_row_batches(runs, size=batch_size):
            for part, attempts in latest_finished_parts(batch):
                for run in part:
                    attempt = attempts.get(run.id)
                    if attempt is None:
                        continue
                    try:
                        text = separator + har_entry_text(run, attempt, run_url=run_url(run.id))
                    except (ValueError, TypeError, RecursionError):
                        # Stored data this code cannot write: said in the file, never half.
                        logger.exception("HAR export: run %s left out", run.id)
                        skipped += 1
                        continue
                    separator = ","
                    pending.append(text)
                    pending_chars += len(text)
                    if pending_chars >= HAR_FLUSH_CHARS:
                        yield "".join(pending)
                        pending, pending_chars = [], 0
    except Exception:
        # Headers are sent already: the document is closed, valid, and says it is short.
        logger.exception("HAR export stopped early")
        yield "".join(pending) + "], " + _har_comment(STOPPED_EARLY) + "}}"
        return
    comment = f"{skipped} run(s) could not be exported and are left out." if skipped else ""
    yield "".join(pending) + "]" + (", " + _har_comment(comment) if comment else "") + "}}"


def _har_comment(text: str) -> str:
    return '"comment": ' + json.dumps(text, ensure_ascii=False)
