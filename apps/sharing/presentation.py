"""What a share page shows of a run: every part redacted again, by name and by value.

The run's stored columns are redacted already when they are written. The share page does
not rely on that alone: whatever it shows (URL, query, headers, bodies, redirects, failure
message, the diagnosis and its evidence, the attempts) passes here through redaction by name
(credential headers, secret-looking query and body keys) and by value (the run's own secret
values, decrypted in memory by the caller, in every encoding the redaction policy of
`apps.egress.redaction` knows: hex, base64, base32, URL, JSON and HTML escapes, HTTP Basic).
What was redacted is listed for the page by kind and place, never by value. The page opens
with the run page's verdict (`apps.runs.verdict`), decided from the redacted diagnosis, and
says what to do in words instead of the buttons that need an account. Pure: no database, no
logging.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from apps.diagnosis.lookups import get_playbook
from apps.diagnosis.profiles import Playbook
from apps.diagnosis.results import Diagnosis
from apps.egress.redaction import (
    REDACTED,
    SecretValues,
    is_secret_header,
    is_secret_name,
    is_secret_param,
    redact_body,
    redact_url,
    secret_keys_in_body,
)
from apps.runs.models import Attempt, Run
from apps.runs.phases import AttemptFacts, attempt_facts
from apps.runs.presentation import BodyView, body_view, content_type_of
from apps.runs.verdict import Verdict, decide
from apps.sharing.curl import CurlCommand, curl_command

# Evidence read from these places names a header or parameter: its value goes if the name
# is a secret one.
_NAMED_EVIDENCE_SOURCES = frozenset({"header", "request_header", "param"})
DESCRIPTION_CHARS = 200


@dataclass
class Redactor:
    """Redacts the parts of one page and remembers what it redacted, where. What counts as
    a secret, by name and by value, is the policy's (`apps.egress.redaction`)."""

    secrets: SecretValues
    named: list[str] = field(default_factory=list)  # "header Authorization", ...
    counts: dict[str, int] = field(default_factory=dict)  # place → values redacted

    @classmethod
    def for_secrets(cls, values: Iterable[str]) -> "Redactor":
        return cls(secrets=SecretValues(values))

    def add_named(self, label: str) -> None:
        if label not in self.named:
            self.named.append(label)

    def _count(self, before: str, after: str, place: str) -> None:
        added = after.count(REDACTED) - before.count(REDACTED)
        if added > 0:
            self.counts[place] = self.counts.get(place, 0) + added

    def value(self, text: str) -> str:
        """The text with every form of every secret value replaced (nothing remembered)."""
        return self.secrets.redact(text)

    def text(self, text: str, place: str) -> str:
        cleaned = self.value(text)
        self._count(text, cleaned, place)
        return cleaned

    def pairs(
        self,
        pairs: Iterable[Sequence[str]],
        *,
        kind: str,
        is_secret: Callable[[str], bool],
    ) -> list[tuple[str, str]]:
        """Name/value pairs ("header", "query parameter"): a secret name's value replaced
        whole (and the name put in the note), the others cleaned by value."""
        place = f"{kind}s"
        shown: list[tuple[str, str]] = []
        for name, value in pairs:
            name = self.text(str(name), place)
            value = str(value)
            if value and (is_secret(name) or value == REDACTED):
                self.add_named(f"{kind} {name}")
                shown.append((name, REDACTED))
            else:
                shown.append((name, self.text(value, place)))
        return shown

    def url(self, url: str, place: str) -> str:
        """The URL with secret-named query values and any password replaced, then cleaned by
        value."""
        try:
            parts = urlsplit(url)
            if parts.password and parts.password != REDACTED:
                self.add_named(f"the password in the {place}")
            for name, value in parse_qsl(parts.query, keep_blank_values=True):
                if is_secret_param(name) and value and value != REDACTED:
                    self.add_named(f"query parameter {self.value(name)}")
        except ValueError:
            pass
        cleaned = redact_url(url, self.secrets)
        self._count(url, cleaned, place)
        return cleaned

    def body(self, text: str, content_type: str, place: str) -> str:
        """A body with the values of secret-named keys replaced (JSON and form bodies),
        then cleaned by value."""
        if "json" not in content_type.lower() and text.lstrip()[:1] in ("{", "["):
            content_type = "application/json"
        for key in secret_keys_in_body(text, content_type):
            self.add_named(f"{place} key {self.value(key)[:60]}")
        cleaned, _ = redact_body(text, content_type, self.secrets)
        self._count(text, cleaned, place)
        return cleaned

    def data(self, value: Any, place: str) -> Any:
        """Stored JSON (a diagnosis): every string cleaned by value, and evidence about a
        secret header or parameter shown without its value."""
        if isinstance(value, str):
            return self.text(value, place)
        if isinstance(value, list):
            return [self.data(item, place) for item in value]
        if isinstance(value, dict):
            cleaned = {key: self.data(item, place) for key, item in value.items()}
            if (
                cleaned.get("source") in _NAMED_EVIDENCE_SOURCES
                and isinstance(cleaned.get("name"), str)
                and is_secret_name(cleaned["name"])
                and isinstance(cleaned.get("value"), str)
                and cleaned["value"]
                and not cleaned["value"].startswith(REDACTED)
                and not cleaned["value"].startswith("(")  # "(not sent)", "(empty)"
            ):
                cleaned["value"] = REDACTED
                self._count("", REDACTED, place)
            return cleaned
        return value

    def note(self) -> list[str]:
        """What was redacted, for people: kinds and places, never a value."""
        lines = list(self.named)
        for place, count in self.counts.items():
            lines.append(f"{count} value{'s' if count != 1 else ''} in the {place}")
        return lines


@dataclass(frozen=True)
class SharedAttempt:
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
    phases_text: str = ""  # where its final request's time went (numbers and fixed words)


@dataclass(frozen=True)
class SharedResult:
    """The latest finished attempt, redacted."""

    number: int
    outcome: str
    response_status: int | None
    response_reason: str
    failure_message: str
    duration_ms: float | None
    redirects: list[tuple[int, str]]
    response_headers: list[tuple[str, str]]
    body: BodyView | None
    body_bytes: int | None
    body_truncated: bool
    facts: AttemptFacts  # timings, connection and TLS facts, request ids: redacted too


@dataclass(frozen=True)
class SharedAdvice:
    """What to do, for someone who may have no account: the verdict's action as words."""

    kind: str  # the verdict's primary action kind (see apps/runs/verdict.py)
    fix: str  # the most likely cause's change to the request, when there is one
    playbook: Playbook | None  # the playbook of the action, when it has one


@dataclass(frozen=True)
class SharedRun:
    """Everything a share page shows of a run, redacted."""

    host: str
    url: str
    query: list[tuple[str, str]]
    request_headers: list[tuple[str, str]]
    has_api_key: bool
    request_body: str
    result: SharedResult | None
    diagnosis: Diagnosis | None
    attempts: list[SharedAttempt]
    curl: CurlCommand
    redacted: list[str]  # the note: what was redacted, by kind and place
    verdict: Verdict | None  # of the latest finished attempt, from the redacted diagnosis
    advice: SharedAdvice | None  # what to do, when something needs doing
    title: str  # "401 · Authentication failed · us.market-api.kaiko.io"
    description: str  # the diagnosis in a sentence or two, for link previews


def shared_run(
    *,
    run: Run,
    attempts: list[Attempt],
    secret_values: Iterable[str],
    now: datetime | None = None,
) -> SharedRun:
    """The share page's view of the run, its attempts oldest first, with `secret_values`
    (the run's decrypted secrets) and every other credential removed. `now`: when the page
    is shown (a wait the server asked for may be over by then)."""
    redactor = Redactor.for_secrets(secret_values)
    if run.has_api_key:
        redactor.add_named("the API key (header X-Api-Key)")
    done = [attempt for attempt in attempts if attempt.status == Attempt.Status.DONE]
    latest = done[-1] if done else None

    url = redactor.url(run.url, "URL")
    query = redactor.pairs(run.query, kind="query parameter", is_secret=is_secret_param)
    headers = redactor.pairs(run.request_headers, kind="header", is_secret=is_secret_header)
    request_type = content_type_of([list(pair) for pair in headers])
    request_body = redactor.body(run.request_body, request_type, "request body")

    result = None
    diagnosis = None
    verdict = None
    if latest is not None:
        result = _result(latest, redactor)
        diagnosis = Diagnosis.from_dict(redactor.data(latest.diagnosis, "diagnosis"))
        verdict = _verdict(run, latest, diagnosis, redactor, now)
    shown_attempts = [_attempt(attempt, redactor) for attempt in attempts]
    curl = curl_command(
        method=run.method,
        url=url,
        query=query,
        headers=headers,
        has_api_key=run.has_api_key,
        body=request_body,
        timeout=run.timeout_seconds,
        follow_redirects=run.follow_redirects,
    )
    title, description = _summary(run, result, diagnosis, redactor)
    return SharedRun(
        host=redactor.value(run.host),
        url=url,
        query=query,
        request_headers=headers,
        has_api_key=run.has_api_key,
        request_body=request_body,
        result=result,
        diagnosis=diagnosis,
        attempts=shown_attempts,
        curl=curl,
        redacted=redactor.note(),
        title=title,
        description=description,
        verdict=verdict,
        advice=_advice(verdict, diagnosis),
    )


def _verdict(
    run: Run, latest: Attempt, diagnosis: Diagnosis, redactor: Redactor, now: datetime | None
) -> Verdict:
    """The run page's verdict, decided from what the share page shows (the redacted
    diagnosis and host); its sentence cleaned by value once more."""
    verdict = decide(
        diagnosis=diagnosis,
        host=redactor.value(run.host),
        finished_at=latest.finished_at,
        duration_ms=latest.duration_ms,
        idempotent=run.is_idempotent,
        has_earlier=False,
        now=now,
    )
    return replace(verdict, sentence=redactor.value(verdict.sentence))


def _advice(verdict: Verdict | None, diagnosis: Diagnosis | None) -> SharedAdvice | None:
    if verdict is None or diagnosis is None or not verdict.primary:
        return None
    cause = diagnosis.top_cause
    playbook = None
    if verdict.playbook:
        try:
            playbook = get_playbook(verdict.playbook)
        except KeyError:
            playbook = None
    return SharedAdvice(
        kind=verdict.primary,
        fix=cause.fix.summary if cause is not None and cause.fix is not None else "",
        playbook=playbook,
    )


def _result(attempt: Attempt, redactor: Redactor) -> SharedResult:
    headers = redactor.pairs(
        attempt.response_headers, kind="response header", is_secret=is_secret_header
    )
    body = None
    if attempt.outcome == Run.Outcome.RESPONSE:
        content_type = content_type_of([list(pair) for pair in headers])
        text = redactor.body(attempt.response_body, content_type, "response body")
        body = body_view(text, content_type)
    return SharedResult(
        number=attempt.number,
        outcome=attempt.outcome,
        response_status=attempt.response_status,
        response_reason=redactor.text(attempt.response_reason, "response"),
        failure_message=redactor.text(attempt.failure_message, "failure message"),
        duration_ms=attempt.duration_ms,
        redirects=[
            (int(status), redactor.url(str(location), "redirects"))
            for status, location in attempt.redirects
        ],
        response_headers=headers,
        body=body,
        body_bytes=attempt.response_body_bytes,
        body_truncated=attempt.response_body_truncated,
        facts=attempt_facts(
            hops=redactor.data(attempt.hops, "timings"),
            response_headers=headers,
            sent_headers=[
                (name, redactor.text(str(value), "request headers"))
                for name, value in attempt.sent_headers
                if str(name).lower() == "traceparent"
            ],
        ),
    )


def _attempt(attempt: Attempt, redactor: Redactor) -> SharedAttempt:
    title = attempt.diagnosis.get("title") if isinstance(attempt.diagnosis, dict) else ""
    return SharedAttempt(
        number=attempt.number,
        reason=attempt.get_reason_display(),
        status=attempt.status,
        outcome=attempt.outcome,
        response_status=attempt.response_status,
        title=redactor.text(str(title or ""), "attempts"),
        duration_ms=attempt.duration_ms,
        finished_at=attempt.finished_at,
        not_before=attempt.not_before,
        wait_reason=redactor.text(attempt.wait_reason, "attempts"),
        phases_text=attempt.phases_text,
    )


def _summary(
    run: Run, result: SharedResult | None, diagnosis: Diagnosis | None, redactor: Redactor
) -> tuple[str, str]:
    """The link preview's title and description: status, diagnosis, host; nothing more."""
    if result is None:
        status = run.get_status_display()
    elif result.outcome == Run.Outcome.RESPONSE:
        status = str(result.response_status)
    else:
        status = "No response"
    parts = [status]
    if diagnosis is not None and diagnosis.title:
        parts.append(diagnosis.title.replace("`", ""))
    parts.append(redactor.value(run.host))
    description = ""
    if diagnosis is not None:
        description = diagnosis.api_meaning or diagnosis.explanation or diagnosis.http_meaning or ""
        description = description.replace("`", "")
    if len(description) > DESCRIPTION_CHARS:
        description = description[: DESCRIPTION_CHARS - 1].rstrip() + "…"
    if not description:
        description = f"{run.method} request to {redactor.value(run.host)}, shared read-only."
    return " · ".join(parts), description
