"""The team log as files: CSV for spreadsheets, HAR 1.2 for HTTP tools.

`csv_chunks` and `har_chunks` take a filtered queryset of runs (`selectors.filtered_runs`,
newest first) and yield text. They read it in keyset batches, each a short query of its
own, so memory stays flat however many runs match and no cursor or transaction stays open
while the file is sent. Nothing is decrypted: every value comes from the stored, already
redacted columns, and is redacted again by name on the way out.
"""

import csv
import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

from django.db.models import QuerySet
from django.urls import reverse

from apps.egress.redaction import (
    is_secret_header,
    is_secret_param,
    redact_body,
    redact_pairs,
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
# HAR entries carry response bodies (each up to EGRESS_MAX_BODY_BYTES, 1 MiB by default),
# so few per batch: 50 bodies at the cap keep the peak near 50 MB.
HAR_BATCH_SIZE = 50
# Entries are sent in pieces of about this many characters, not one write per entry.
HAR_FLUSH_CHARS = 64 * 1024
HAR_VERSION = "1.2"
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
_HAR_RUN_FIELDS = (
    "id",
    "created_at",
    "created_by__username",
    "method",
    "url",
    "request_headers",
    "request_body",
    "diagnosis_code",
    "diagnosis_title",
    "severity",
)


# Reading ----------------------------------------------------------------------------------


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


def latest_finished_attempts(runs: list[Run]) -> dict[uuid.UUID, Attempt]:
    """The latest finished attempt of each of the runs that has one, read with two queries:
    the numbers of the finished attempts (small rows), then the chosen attempts themselves."""
    latest: dict[uuid.UUID, tuple[int, uuid.UUID]] = {}
    finished = Attempt.objects.filter(
        run_id__in=[run.pk for run in runs], status=Attempt.Status.DONE
    ).values_list("run_id", "number", "pk")
    for run_id, number, pk in finished:
        if run_id not in latest or number > latest[run_id][0]:
            latest[run_id] = (number, pk)
    # The diagnosis JSON is large; the run's summary columns say what the export needs.
    attempts = Attempt.objects.filter(pk__in=[pk for _, pk in latest.values()]).defer("diagnosis")
    return {attempt.run_id: attempt for attempt in attempts}


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


def _har_pairs(pairs: list[list[str]] | list[tuple[str, str]], *, secret_header: bool) -> list:
    """Name/value objects with secret values redacted by name (the policy's); URLs in
    headers by their query parameters' names."""
    is_secret = is_secret_header if secret_header else is_secret_param
    return [
        {"name": name, "value": value} for name, value in redact_pairs(pairs, is_secret=is_secret)
    ]


def har_request(run: Run, attempt: Attempt) -> dict[str, object]:
    url = redact_url(attempt.sent_url or run.url)
    headers = attempt.sent_headers or run.request_headers
    try:
        query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    except ValueError:
        query = []
    request: dict[str, object] = {
        "method": run.method,
        "url": url,
        "httpVersion": attempt.response_http_version or "HTTP/1.1",
        "cookies": [],
        "headers": _har_pairs(headers, secret_header=True),
        "queryString": _har_pairs(query, secret_header=False),
        "headersSize": -1,
        "bodySize": 0,
    }
    if run.request_body:
        mime_type = _header_value(headers, "Content-Type")
        text, _ = redact_body(run.request_body, mime_type)
        request["postData"] = {"mimeType": mime_type, "text": text}
        # The size sent (secrets and all) when known, else that of the text shown.
        sent = _header_value(headers, "Content-Length")
        request["bodySize"] = int(sent) if sent.isdigit() else len(text.encode())
    return request


def har_response(attempt: Attempt) -> dict[str, object]:
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
    text, _ = redact_body(attempt.response_body, mime_type)
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
        "redirectURL": redact_url(_header_value(headers, "Location")),
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


def har_timings(attempt: Attempt) -> dict[str, object]:
    """The final request's measured phases; for an attempt stored before phases were
    measured, only its total, given as `wait` so the sum stays `time`."""
    hop = _final_hop(attempt)
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


def _hops(attempt: Attempt) -> list[HopFacts]:
    stored = attempt.hops if isinstance(attempt.hops, list) else []
    return [hop for hop in map(HopFacts.from_dict, stored) if hop is not None]


def _final_hop(attempt: Attempt) -> HopFacts | None:
    hops = _hops(attempt)
    return hops[-1] if hops else None


def har_entry(run: Run, attempt: Attempt, *, run_url: str) -> dict[str, object]:
    # The run's summary columns describe its latest finished attempt, the one exported.
    code = attempt.diagnosis_code or run.diagnosis_code
    title = run.diagnosis_title
    started = attempt.started_at or attempt.created_at or run.created_at
    timings = har_timings(attempt)
    hops = _hops(attempt)
    final = hops[-1] if hops else None
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
        "_member": run.created_by.username if run.created_by_id and run.created_by else "",
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
            {"status": status, "location": redact_url(location)}
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
    runs: QuerySet[Run], *, base_url: str, batch_size: int = HAR_BATCH_SIZE
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
    rows = runs.select_related("created_by").only(*_HAR_RUN_FIELDS)
    try:
        for batch in run_batches(rows, size=batch_size):
            attempts = latest_finished_attempts(batch)
            for run in batch:
                attempt = attempts.get(run.pk)
                if attempt is None:
                    continue
                try:
                    entry = har_entry(run, attempt, run_url=run_url(run.id))
                    text = separator + json.dumps(entry, ensure_ascii=False)
                except (ValueError, TypeError, RecursionError):
                    # Stored data this code cannot write: said in the file, never half a file.
                    logger.exception("HAR export: run %s left out", run.pk)
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
