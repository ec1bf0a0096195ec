"""The team log's filters: read from the query string, so a filtered view is a link.

`LogFilterForm` validates what the URL says (a bad value gets a message at its field, never
a 500) and `LogFilters` is the typed result that selectors, trends and exports take. The
page position (`before`) is separate: it is a keyset cursor, see `Cursor`.
"""

import base64
import binascii
import functools
import re
import uuid
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta

from django import forms
from django.http import QueryDict
from django.utils import timezone

from apps.diagnosis.lookups import catalog
from apps.runs.forms import METHODS

STATUS_CLASSES = {
    "2xx": "2xx success",
    "3xx": "3xx redirect",
    "4xx": "4xx client error",
    "5xx": "5xx server error",
    "network": "No response (network, TLS, timeout)",
}
RANGES = {
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
}
MAX_TEXT = 200
# The search runs on trigram indexes on PostgreSQL, which need three characters to help.
MIN_TEXT = 3
# The query-string parameters that are filters (the page position and live-update state are
# not): links that keep "the current filters" carry exactly these.
FILTER_PARAMS = (
    "q", "class", "status", "diagnosis", "method", "host", "member", "range", "since", "until",
)  # fmt: skip
DIAGNOSIS_CODE = re.compile(r"^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$")
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


# Dates the log takes: wide enough for any run, far enough from datetime's own limits that
# arithmetic on them (a window before, a bucket after) never overflows.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def in_bounds(moment: datetime) -> bool:
    """Whether an aware moment lies within [EARLIEST, LATEST) (False if it cannot even be
    compared: an offset that takes it past datetime's limits)."""
    try:
        return EARLIEST <= moment < LATEST
    except OverflowError:
        return False


def _bounded_moment(moment: datetime | None) -> datetime | None:
    if moment is not None and not in_bounds(moment):
        raise forms.ValidationError(
            f"Give a date from {EARLIEST.year} to {LATEST.year - 1} (UTC).", code="out_of_range"
        )
    return moment


@dataclass(frozen=True)
class LogFilters:
    """What the log shows: every field empty means every run of the team."""

    status_class: str = ""  # a key of STATUS_CLASSES
    status: int | None = None  # exact HTTP status
    diagnosis: str = ""  # a diagnosis code, e.g. "kaiko.unauthorized"
    method: str = ""
    host: str = ""
    member: str = ""  # a username
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    text: str = ""  # in the URL or the diagnosis title

    @property
    def is_empty(self) -> bool:
        return all(not getattr(self, field.name) for field in fields(self))


class LogFilterForm(forms.Form):
    """The filters as query-string parameters. Short names keep shared links readable."""

    q = forms.CharField(
        required=False,
        max_length=MAX_TEXT,
        label="Search URL and diagnosis",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "e.g. ohlcv or rate limit"}),
    )
    status = forms.IntegerField(
        required=False,
        min_value=100,
        max_value=599,
        label="Status",
        # A text box: a number box would hide a mistyped value instead of showing it.
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "e.g. 429"}),
    )
    diagnosis = forms.CharField(
        required=False,
        max_length=80,
        label="Diagnosis",
        help_text="A code, or its start: kaiko.401 also finds kaiko.401.no_key.",
        widget=forms.TextInput(
            attrs={"list": "diagnosis-codes", "placeholder": "e.g. kaiko.401", "spellcheck": "off"}
        ),
    )
    method = forms.ChoiceField(
        required=False, choices=[("", "Any method"), *((m, m) for m in METHODS)], label="Method"
    )
    host = forms.CharField(required=False, max_length=255, label="Host")
    member = forms.CharField(required=False, max_length=150, label="Member")
    range = forms.ChoiceField(
        required=False,
        choices=[("", "Any time"), *((key, label) for key, (label, _) in RANGES.items())],
        label="Time",
    )
    since = forms.DateTimeField(
        required=False,
        label="From (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    until = forms.DateTimeField(
        required=False,
        label="To (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )

    def __init__(self, data: QueryDict, *, members: list[str] | None = None) -> None:
        method = data.get("method")
        if method:
            data = data.copy()
            data["method"] = method.strip().upper()
        super().__init__(data)
        # "class" is a keyword in Python, so this field is added by name.
        self.fields["class"] = forms.ChoiceField(
            required=False, choices=[("", "Any result"), *STATUS_CLASSES.items()], label="Result"
        )
        self.order_fields(["q", "class"])
        self.members = members
        if members is not None:
            # A select of the team's members; a name from the URL that is not one of them
            # stays selected, so the field shows what was asked next to its message.
            asked = (self.data.get("member") or "").strip()
            names = [*members, asked] if asked and asked not in members else members
            self.fields["member"].widget = forms.Select(
                choices=[("", "Anyone"), *((name, name) for name in names)]
            )

    def clean_q(self) -> str:
        text = self.cleaned_data["q"].strip()
        if text and len(text) < MIN_TEXT:
            raise forms.ValidationError(f"Search for at least {MIN_TEXT} characters.")
        return text

    def clean_since(self) -> datetime | None:
        return _bounded_moment(self.cleaned_data["since"])

    def clean_until(self) -> datetime | None:
        return _bounded_moment(self.cleaned_data["until"])

    def clean_host(self) -> str:
        return self.cleaned_data["host"].strip().lower()

    def clean_diagnosis(self) -> str:
        code = self.cleaned_data["diagnosis"].strip().lower()
        if code and not DIAGNOSIS_CODE.match(code):
            raise forms.ValidationError(
                "A diagnosis code is words joined by dots, e.g. kaiko.401 or network.dns."
            )
        return code

    def clean_member(self) -> str:
        member = self.cleaned_data["member"].strip()
        if member and self.members is not None and member not in self.members:
            raise forms.ValidationError(f"No member of this team is called “{member}”.")
        return member

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since >= until:
            self.add_error("until", "The end of the time range must come after its start.")
        if cleaned.get("range") and (since or until):
            self.add_error("range", "Choose a time range or give dates, not both.")
        return cleaned

    def filters(self, *, now: datetime | None = None) -> LogFilters:
        """The valid filters; a field with an error is left out (and its message shown)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        valid = {name: value for name, value in data.items() if name not in self.errors}
        since = valid.get("since")
        until = valid.get("until")
        if valid.get("range"):
            since = (now or timezone.now()) - RANGES[valid["range"]][1]
            until = None
        return LogFilters(
            status_class=valid.get("class") or "",
            status=valid.get("status"),
            diagnosis=(valid.get("diagnosis") or "").strip(),
            method=valid.get("method") or "",
            host=valid.get("host") or "",
            member=valid.get("member") or "",
            since=since,
            until=until,
            text=(valid.get("q") or "").strip(),
        )


def filter_query(data: QueryDict) -> QueryDict:
    """Only the filter parameters of a query string (no page position), non-empty ones."""
    query = QueryDict(mutable=True)
    for name in FILTER_PARAMS:
        value = (data.get(name) or "").strip()
        if value:
            query[name] = value
    return query


@functools.cache
def diagnosis_codes() -> list[tuple[str, str]]:
    """Every diagnosis code the catalog knows, with its title, sorted by code."""
    known = catalog()
    codes = {entry.code: entry.title for e in known.all_entries() for entry in e.with_variants()}
    codes.update((cause.code, cause.title) for cause in known.all_causes())
    return sorted(codes.items())


def parse_filters(
    data: QueryDict, *, members: list[str] | None = None
) -> tuple[LogFilterForm, LogFilters]:
    """The bound form (for its errors and widgets) and the filters it validated."""
    form = LogFilterForm(data, members=members)
    form.is_valid()
    return form, form.filters()


@dataclass(frozen=True)
class Cursor:
    """A position in the log: the rows strictly older than (created_at, id) come next.

    Written in URLs as an opaque, URL-safe token; a token that does not decode is treated
    as no cursor at all (the first page), never as an error page.
    """

    created_at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str | None) -> "Cursor | None":
        if not token or len(token) > 200:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            stamp, _, run_id = raw.partition("|")
            created_at = datetime.fromisoformat(stamp)
            if timezone.is_naive(created_at) or not in_bounds(created_at):
                return None
            return cls(created_at=created_at, id=uuid.UUID(run_id))
        except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
            return None
