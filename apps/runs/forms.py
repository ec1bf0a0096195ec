import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator

from apps.diagnosis.lookups import profiles
from apps.egress.bounded_json import JsonLimitExceeded, loads_bounded
from apps.egress.policy import TargetRefused, parse_target
from apps.egress.types import BODYLESS_METHODS
from apps.runs.secrets import API_KEY_HEADER

if TYPE_CHECKING:
    from apps.runs.models import Run

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Headers that the HTTP client sets itself or that would change where the request goes.
FORBIDDEN_HEADERS = frozenset(
    {"host", "connection", "content-length", "transfer-encoding", "te", "upgrade", "keep-alive"}
)
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
MAX_BODY_CHARS = 256 * 1024
MAX_LINES = 100
# {{name}}: a variable, given its value by an environment (or a collection) when a request
# is sent; {{vault:NAME}} is the vault's, resolved by it at submit.
VARIABLE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
VAULT_REFERENCE = re.compile(r"^\{\{vault:([A-Za-z][A-Za-z0-9_.-]{0,99})\}\}$")


def resolve_variables(text: str, variables: dict[str, str], missing: list[str]) -> str:
    """{{name}} replaced by its value; names with no value are added to `missing` and left
    as they are. {{vault:NAME}} is left for the vault."""

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("vault:"):
            return match.group(0)
        if name not in variables:
            if name not in missing:
                missing.append(name)
            return match.group(0)
        return variables[name]

    return VARIABLE.sub(value_of, text)


def vault_reference(name: str) -> str:
    return f"{{{{vault:{name}}}}}"


@dataclass(frozen=True)
class VariableSet:
    """An environment as the form sees it: its id (the choice's value), name and values."""

    id: str
    name: str
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRequest:
    """A validated request, as the submit service takes it."""

    method: str
    url: str
    params: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: str
    api_key: str
    timeout: float
    profile: str  # "" means chosen from the URL
    follow_redirects: bool = False
    send_traceparent: bool = False  # a W3C traceparent with each attempt
    auto_retry: bool = False  # retry with backoff while the outcome is retryable
    keep_api_key: bool = False  # re-runs: an empty key field keeps the source run's key


def _lines(text: str) -> list[tuple[int, str]]:
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def header_value_problem(value: str) -> str:
    """Why HTTP cannot carry this header value ("" when it can): header values are Latin-1
    text without control characters (RFC 9110 §5.5)."""
    for char in value:
        if (ord(char) < 32 and char != "\t") or ord(char) == 127:
            return f"contains a control character ({ord(char):#04x}), which HTTP cannot carry"
        if ord(char) > 255:
            return (
                f"contains “{char}”, which HTTP cannot carry in a header (only Latin-1 "
                "characters can be sent; percent-encode or base64-encode it)"
            )
    return ""


def parse_header_lines(text: str) -> list[tuple[str, str]]:
    """`Name: value` lines into pairs; a ValidationError names the first bad line."""
    pairs = []
    lines = _lines(text)
    if len(lines) > MAX_LINES:
        raise forms.ValidationError(f"At most {MAX_LINES} headers can be sent.")
    for number, line in lines:
        name, sep, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            raise forms.ValidationError(
                f"Line {number} is not a header: write it as 'Name: value'."
            )
        if not _TOKEN.match(name):
            raise forms.ValidationError(
                f"Line {number}: '{name}' is not a valid header name "
                "(letters, digits and !#$%&'*+-.^_`|~ only, no spaces)."
            )
        lowered = name.lower()
        if lowered in FORBIDDEN_HEADERS or lowered.startswith("proxy-"):
            raise forms.ValidationError(
                f"Line {number}: the {name} header is set by the HTTP client and cannot be "
                "chosen here."
            )
        problem = header_value_problem(value)
        if problem:
            raise forms.ValidationError(f"Line {number}: the value of {name} {problem}.")
        pairs.append((name, value))
    return pairs


def parse_param_lines(text: str) -> list[tuple[str, str]]:
    """`name=value` lines into pairs; a ValidationError names the first bad line."""
    pairs = []
    lines = _lines(text)
    if len(lines) > MAX_LINES:
        raise forms.ValidationError(f"At most {MAX_LINES} query parameters can be sent.")
    for number, line in lines:
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise forms.ValidationError(
                f"Line {number} is not a parameter: write it as 'name=value'."
            )
        pairs.append((name.strip(), value.strip()))
    return pairs


@functools.cache
def _profile_choices() -> list[tuple[str, str]]:
    """The catalog's profiles (read once per process) as choices."""
    return [("", "Automatic (from the host)")] + [(p.slug, p.name) for p in profiles()]


class RunForm(forms.Form):
    method = forms.ChoiceField(choices=[(m, m) for m in METHODS], initial="GET")
    url = forms.CharField(
        label="URL",
        max_length=4000,
        widget=forms.TextInput(
            attrs={"placeholder": "https://us.market-api.kaiko.io/v2/data/…", "spellcheck": "false"}
        ),
    )
    params = forms.CharField(
        label="Query parameters",
        required=False,
        help_text="One per line: name=value. Added to any already in the URL.",
        widget=forms.Textarea(
            attrs={"rows": 3, "spellcheck": "false", "placeholder": "interval=1h"}
        ),
    )
    headers = forms.CharField(
        required=False,
        help_text="One per line: Name: value.",
        widget=forms.Textarea(
            attrs={"rows": 3, "spellcheck": "false", "placeholder": "Accept: application/json"}
        ),
    )
    body = forms.CharField(
        required=False,
        strip=False,
        max_length=MAX_BODY_CHARS,
        error_messages={
            "max_length": (
                f"The body is larger than the limit of {MAX_BODY_CHARS // 1024} KiB "
                f"({MAX_BODY_CHARS:,} characters); it has %(show_value)s characters."
            )
        },
        help_text="Checked as JSON when the Content-Type header says JSON.",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )
    api_key = forms.CharField(
        label="API key",
        required=False,
        max_length=500,
        help_text="Sent as the X-Api-Key header. Stored encrypted; never shown again. Or "
        "{{vault:NAME}}: a secret of the team's vault.",
        widget=forms.PasswordInput(
            render_value=True, attrs={"autocomplete": "off", "spellcheck": "false"}
        ),
    )
    vault_secret = forms.ChoiceField(
        label="Or a key from the team's vault",
        required=False,
        help_text="Sent as the API key; only to the hosts the secret is bound to.",
    )
    timeout = forms.FloatField(
        label="Timeout (seconds)",
        min_value=0.5,
        initial=settings.EGRESS_DEFAULT_TIMEOUT,
        widget=forms.NumberInput(attrs={"step": "0.5"}),
    )
    profile = forms.ChoiceField(label="API profile", required=False)
    environment = forms.ChoiceField(
        label="Environment",
        required=False,
        help_text="Its values fill {{name}} in the URL, parameters, headers, body and key.",
    )
    follow_redirects = forms.BooleanField(
        label="Follow redirects", required=False, help_text="At most 5, each one checked."
    )
    send_traceparent = forms.BooleanField(
        label="Send a W3C traceparent",
        required=False,
        help_text="A new trace id with each attempt, shown with the result: the provider can "
        "find the request in its traces.",
    )
    auto_retry = forms.BooleanField(
        label="Retry automatically with backoff",
        required=False,
        help_text="While the outcome is retryable (429, 503, timeouts …); never for POST/PATCH.",
    )
    keep_api_key = forms.BooleanField(
        label="Keep the API key of the run this one is based on",
        required=False,
        initial=True,
    )

    def __init__(
        self,
        *args: Any,
        vault_names: Sequence[str] = (),
        environments: Sequence[VariableSet] | None = None,
        traceparent_default: bool | None = None,
        **kwargs: Any,
    ) -> None:
        """`vault_names`: the team's vault secrets a key may be taken from (names only).
        `environments`: the team's environments to pick from; with them (even none), the
        {{variables}} of the fields are checked, and resolved from the one picked.
        `traceparent_default`: the team's setting, whether the traceparent box starts ticked
        (None: the deployment's TRACEPARENT_DEFAULT)."""
        super().__init__(*args, **kwargs)
        self.resolves_variables = environments is not None
        self.offer(vault_names=vault_names, environments=environments or ())
        self._pick_vault_secret_from_initial()
        cast(forms.ChoiceField, self.fields["profile"]).choices = _profile_choices()
        # The team's setting; without a team, the deployment's default.
        self.fields["send_traceparent"].initial = (
            settings.TRACEPARENT_DEFAULT if traceparent_default is None else traceparent_default
        )
        timeout = cast(forms.FloatField, self.fields["timeout"])
        timeout.max_value = settings.EGRESS_MAX_TIMEOUT  # type: ignore[assignment]  # stubs: int
        self.fields["timeout"].validators.append(MaxValueValidator(settings.EGRESS_MAX_TIMEOUT))
        self.fields["timeout"].widget.attrs["max"] = settings.EGRESS_MAX_TIMEOUT

    def offer(self, *, vault_names: Sequence[str], environments: Sequence[VariableSet]) -> None:
        """The vault secrets and environments the selects offer (a form checked against
        only those picked offers them all before it is shown again)."""
        self.vault_names = list(vault_names)
        self.environments = {item.id: item for item in environments}
        cast(forms.ChoiceField, self.fields["vault_secret"]).choices = [
            ("", "None: the key typed here")
        ] + [(name, name) for name in self.vault_names]
        cast(forms.ChoiceField, self.fields["environment"]).choices = [("", "None")] + [
            (item.id, item.name) for item in self.environments.values()
        ]

    def _pick_vault_secret_from_initial(self) -> None:
        """A key given as {{vault:NAME}} (an import, a saved request) shows as the pick."""
        reference = VAULT_REFERENCE.match(str(self.initial.get("api_key") or "").strip())
        if reference and reference.group(1) in self.vault_names:
            self.initial = {**self.initial, "api_key": "", "vault_secret": reference.group(1)}

    def _picked_environment(self) -> VariableSet | None:
        return self.environments.get(str(self.data.get(self.add_prefix("environment"), "")))

    def _resolved(self, text: str) -> str:
        """The text with the picked environment's values in place of its {{variables}}; a
        ValidationError names those it does not define."""
        if not self.resolves_variables:
            return text
        picked = self._picked_environment()
        missing: list[str] = []
        resolved = resolve_variables(text, picked.variables if picked else {}, missing)
        if not missing:
            return resolved
        names = ", ".join(f"{{{{{name}}}}}" for name in missing)
        if picked is None:
            them = "them" if len(missing) > 1 else "it"
            raise forms.ValidationError(
                f"{names}: no environment is picked to give {them} a value: pick one that "
                f"defines {them}, or write the value itself."
            )
        raise forms.ValidationError(
            f"The environment “{picked.name}” has no value for {names}: add it to the "
            "environment, pick another one, or write the value itself."
        )

    def clean_url(self) -> str:
        url = self._resolved(self.cleaned_data["url"].strip())
        try:
            parse_target(url)
        except TargetRefused as refusal:
            raise forms.ValidationError(refusal.message) from None
        return url

    def clean_params(self) -> list[tuple[str, str]]:
        return parse_param_lines(self._resolved(self.cleaned_data["params"]))

    def clean_headers(self) -> list[tuple[str, str]]:
        headers = parse_header_lines(self._resolved(self.cleaned_data["headers"]))
        for name, _ in headers:
            if name.lower() == API_KEY_HEADER.lower():
                raise forms.ValidationError(
                    "Put the key in the API key field below, which is sent as "
                    f"{API_KEY_HEADER} and stored encrypted."
                )
        return headers

    def clean_body(self) -> str:
        return self._resolved(self.cleaned_data["body"])

    def clean_api_key(self) -> str:
        key = self.cleaned_data["api_key"].strip()
        if getattr(self, "resolves_variables", False):  # the re-authenticate form borrows this
            key = self._resolved(key)
        if any(ord(ch) < 33 or ord(ch) > 126 for ch in key):
            raise forms.ValidationError("An API key has no spaces or special characters.")
        return key

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        headers = cleaned.get("headers") or []
        body = cleaned.get("body") or ""
        content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
        if "headers" in self.errors:
            # Every error at once: the body is checked even when another header line is wrong.
            content_type = _raw_content_type(str(self.data.get("headers", "")))
        if body and "json" in content_type.lower():
            try:
                loads_bounded(body)
            except JsonLimitExceeded as exc:
                self.add_error("body", f"The body cannot be sent as JSON here: {exc}")
            except ValueError as exc:
                self.add_error(
                    "body",
                    f"The Content-Type header says JSON but the body is not valid JSON: {exc}.",
                )
        if body and cleaned.get("method") in BODYLESS_METHODS:
            self.add_error("body", f"A {cleaned['method']} request is sent without a body.")
        picked = cleaned.get("vault_secret") or ""
        if picked and "api_key" in cleaned:
            key = cleaned["api_key"]
            if key and key != vault_reference(picked):
                self.add_error(
                    "vault_secret",
                    f"A key is typed above and the vault secret “{picked}” is picked: clear "
                    "the key field, or pick “None” here.",
                )
            else:
                cleaned["api_key"] = vault_reference(picked)
        return cleaned

    def to_request(self) -> RunRequest:
        data = self.cleaned_data
        return RunRequest(
            method=data["method"],
            url=data["url"],
            params=data["params"],
            headers=data["headers"],
            body=data["body"],
            api_key=data["api_key"],
            timeout=data["timeout"],
            profile=data["profile"],
            follow_redirects=data["follow_redirects"],
            send_traceparent=data["send_traceparent"],
            auto_retry=data["auto_retry"],
            keep_api_key=data["keep_api_key"],
        )


def _raw_content_type(text: str) -> str:
    """The Content-Type of header lines that did not all parse."""
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "content-type":
            return value.strip()
    return ""


def _lines_of(pairs: list[list[str]], separator: str) -> str:
    return "\n".join(f"{name}{separator}{value}" for name, value in pairs)


def initial_from_run(run: "Run") -> dict[str, object]:
    """The form's values for re-running a run: secrets stay "[redacted]" and are restored
    from the run when submitted; the key field stays empty (never shown back)."""
    return {
        "method": run.method,
        "url": run.url,
        "params": _lines_of(run.query, "="),
        "headers": _lines_of(run.request_headers, ": "),
        "body": run.request_body,
        "timeout": run.timeout_seconds,
        "profile": run.profile,
        "follow_redirects": run.follow_redirects,
        "send_traceparent": run.send_traceparent,
        "auto_retry": bool(run.retry_policy),
        "keep_api_key": run.has_api_key,
    }


class ReauthenticateForm(forms.Form):
    api_key = forms.CharField(
        label="New API key",
        max_length=500,
        help_text="The same request is sent again as a new run, with this key as X-Api-Key.",
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    save_to_vault = forms.CharField(
        label="Also keep it in the team's vault as",
        required=False,
        max_length=100,
        help_text="A name (owners only): a new vault secret bound to this host, or a new "
        "value for the secret of that name.",
    )

    def clean_api_key(self) -> str:
        return RunForm.clean_api_key(self)  # type: ignore[arg-type]

    def to_request(self, run: "Run") -> RunRequest:
        return RunRequest(
            method=run.method,
            url=run.url,
            params=[(name, value) for name, value in run.query],
            headers=[(name, value) for name, value in run.request_headers],
            body=run.request_body,
            api_key=self.cleaned_data["api_key"],
            timeout=run.timeout_seconds,
            profile=run.profile,
            follow_redirects=run.follow_redirects,
            send_traceparent=run.send_traceparent,
        )
