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
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast
from urllib.parse import parse_qsl, urlsplit

from django.db import connection, connections
from django.db.models import F, Field, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
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
    rows = runs.values_list(*_RUN_ROW_FIELDS)
    batch = [RunRow._make(row) for row in rows[:size]]
    while batch:
        yield batch
        if len(batch) < size:
            return
        last = batch[-1]
        after = older_than(rows, Cursor(created_at=last.created_at, id=last.id))
        batch = [RunRow._make(cast(tuple[object, ...], row)) for row in after[:size]]


def latest_finished_parts(
    batch: list[RunRow], *, read_bytes: int = HAR_READ_BYTES
) -> Iterator[tuple[list[RunRow], dict[uuid.UUID, AttemptRow]]]:
    """The runs of the batch in order, in parts whose latest finished attempts' stored
    bodies add up to at most `read_bytes` (one run at least), each with those attempts as
    AttemptRow tuples by run id (a run without a finished attempt has none)."""
    latest: dict[uuid.UUID, tuple[int, uuid.UUID, int]] = {}
    finished = Attempt.objects.filter(
        _among("run_id", [run.id for run in batch]), status=Attempt.Status.DONE
    ).values_list("run_id", "number", "pk", "response_body_bytes")
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


def _among(field_name: str, ids: list[uuid.UUID]) -> Q:
    """`field__in=ids`; on PostgreSQL as one array parameter (`= ANY`), which spares
    preparing and parsing a thousand placeholders a batch."""
    if connections[Attempt.objects.db].vendor != "postgresql":
        return Q(**{f"{field_name}__in": ids})
    meta = Attempt._meta
    quote = connection.ops.quote_name
    column = quote(str(cast(Field, meta.get_field(field_name)).column))
    # Names come from the model's metadata, quoted; the ids are one bound parameter.
    return Q(
        pk__in=RawSQL(  # noqa: S611
            f"SELECT {quote(str(meta.pk.column))} FROM "  # noqa: S608
            f"{quote(meta.db_table)} WHERE {column} = ANY(%s::uuid[])",
            (ids,),
        )
    )


# The JSON columns of an attempt, read as their text and decoded here (see `_attempt_rows`).
_JSON_FIELDS = frozenset({"sent_headers", "redirects", "response_headers", "hops"})
# Of those, the ones whose text comes back row after row: decoded once.
_REPEATED_JSON = frozenset({"sent_headers", "redirects"})


@functools.lru_cache(maxsize=1024)
def _decoded(text: str) -> Any:
    """A JSON text decoded, remembered: the caller must not change what it gets."""
    return json.loads(text)


def _attempt_rows(pks: list[uuid.UUID]) -> dict[uuid.UUID, AttemptRow]:
    """The attempts as AttemptRow tuples by run id. JSON columns are read as text and
    decoded with `json.loads` (as the JSONField would), the repeated ones once."""
    if not pks:
        return {}
    columns = [
        Cast(name, TextField()) if name in _JSON_FIELDS else F(name) for name in AttemptRow._fields
    ]
    decoders = [
        _decoded if name in _REPEATED_JSON else json.loads if name in _JSON_FIELDS else None
        for name in AttemptRow._fields
    ]
    found = {}
    for row in Attempt.objects.filter(_among("id", pks)).values_list(*columns):
        values = [
            value if decode is None or value is None else decode(value)
            for decode, value in zip(decoders, row, strict=True)
        ]
        found[values[0]] = AttemptRow._make(values)
    return found


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


def _body_text(text: str, mime_type: str) -> str:
    """`redact_body(text, mime_type)`'s text, without parsing a JSON body none of whose keys
    names a secret (it would come back unchanged)."""
    lowered = mime_type.lower()
    is_json = "json" in lowered or (not lowered and text.lstrip()[:1] in ("{", "["))
    keys = set(_JSON_KEY.findall(text)) if is_json and "\\" not in text else None
    if keys is not None and not any(map(_secret_name, keys)):
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
    encode = json.JSONEncoder(ensure_ascii=False).encode
    try:
        for batch in run_row_batches(runs, size=batch_size):
            for part, attempts in latest_finished_parts(batch):
                for run in part:
                    attempt = attempts.get(run.id)
                    if attempt is None:
                        continue
                    try:
                        entry = har_entry(run, attempt, run_url=run_url(run.id))
                        text = separator + encode(entry)
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
