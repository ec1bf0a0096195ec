from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from apps.accounts.models import Team
from apps.diagnosis.lookups import profiles
from apps.diagnosis.openapi import MAX_DOCUMENT_BYTES, SpecError
from apps.egress.policy import TargetRefused, parse_target
from apps.egress.redaction import REDACTED
from apps.egress.types import BODYLESS_METHODS
from apps.library.importers.collection import (
    MAX_FILE_BYTES,
    MAX_REQUESTS,
    ImportedCollection,
    ImportedRequest,
    ImportFailed,
    check_size,
    loads_json,
)
from apps.library.importers.curl import MAX_COMMAND_CHARS, CurlError, ParsedCurl, parse_curl
from apps.library.importers.har import parse_har
from apps.library.importers.native import is_native, parse_native
from apps.library.importers.openapi import collection_from_spec
from apps.library.importers.postman import parse_postman
from apps.library.importers.raw_http import RawHttpError, looks_like_raw_http, parse_raw_http
from apps.library.models import Collection, SavedRequest
from apps.library.services import (
    PASTED,
    VARIABLE,
    CheckedDocument,
    Composed,
    RequestRefused,
    check_document,
    check_environment_variables,
    composed_of,
)
from apps.runs.forms import (
    MAX_BODY_CHARS,
    METHODS,
    VAULT_REFERENCE,
    RunForm,
    parse_header_lines,
    parse_param_lines,
    vault_reference,
)
from apps.runs.secrets import API_KEY_HEADER

MAX_MB = MAX_DOCUMENT_BYTES // 1_048_576


class SpecUploadForm(forms.Form):
    """An OpenAPI document, as a file or pasted; checked as a whole when the form is."""

    file = forms.FileField(
        label="OpenAPI document (file)",
        required=False,
        help_text=f"JSON or YAML, OpenAPI 3.0 or 3.1, up to {MAX_MB} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".json,.yaml,.yml,application/json"}),
    )
    text = forms.CharField(
        label="Or paste it",
        required=False,
        help_text=f"Up to {MAX_MB} MB here too; a larger document is refused, as a file as well.",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "mono"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload: UploadedFile | None = cleaned.get("file")
        text: str = cleaned.get("text") or ""
        if upload and text.strip():
            raise forms.ValidationError("Give the document once: a file or pasted text, not both.")
        if not upload and not text.strip():
            self.add_error("file", "Choose a file, or paste the document below.")
            return cleaned
        field = "file" if upload else "text"
        if upload is not None and upload.size is not None and upload.size > MAX_DOCUMENT_BYTES:
            self.add_error(
                "file",
                f"The file is {upload.size / 1_048_576:.1f} MB; documents of up to {MAX_MB} MB "
                "are accepted.",
            )
            return cleaned
        raw: str | bytes = upload.read(MAX_DOCUMENT_BYTES + 1) if upload else text
        try:
            cleaned["checked"] = check_document(
                raw=raw, source_name=(upload.name or "upload") if upload else PASTED
            )
        except SpecError as error:
            self.add_error(field, str(error))
        return cleaned

    @property
    def checked(self) -> CheckedDocument:
        return self.cleaned_data["checked"]


class PasteRequestForm(forms.Form):
    """A cURL command or a raw HTTP request, pasted to fill the new-request form."""

    text = forms.CharField(
        label="Paste a command or a raw HTTP request",  # no "URL" in it: the form has one
        strip=False,
        max_length=MAX_COMMAND_CHARS,
        help_text="It fills the form below; nothing is sent until you press Send request.",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"}),
    )

    def clean_text(self) -> ParsedCurl:
        text: str = self.cleaned_data["text"]
        if not text.strip():
            raise forms.ValidationError("Paste a cURL command or a raw HTTP request.")
        try:
            if looks_like_raw_http(text):
                return parse_raw_http(text)
            return parse_curl(text)
        except (CurlError, RawHttpError) as error:
            raise forms.ValidationError(str(error)) from None

    @property
    def parsed(self) -> ParsedCurl:
        return self.cleaned_data["text"]


def run_form_initial(parsed: ParsedCurl) -> dict[str, object]:
    """The new-request form's values for an imported request (it is checked when sent)."""
    timeout = parsed.timeout or settings.EGRESS_DEFAULT_TIMEOUT
    return {
        "method": parsed.method,
        "url": parsed.url,
        "headers": "\n".join(f"{name}: {value}" for name, value in parsed.headers),
        "body": parsed.body,
        "api_key": parsed.api_key,
        "timeout": min(max(timeout, 0.5), settings.EGRESS_MAX_TIMEOUT),
        "follow_redirects": parsed.follow_redirects,
    }


class CollectionImportForm(forms.Form):
    """A Postman collection (v2.1/v2.0), an OpenAPI 3.x document, a HAR file or a
    collection this dashboard exported, as a file or pasted; read as a whole when the form
    is checked. Which of them it is, is told from the content."""

    file = forms.FileField(
        label="File",
        required=False,
        help_text=f"JSON (or YAML for OpenAPI), up to {MAX_FILE_BYTES // 1_048_576} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".json,.yaml,.yml,.har"}),
    )
    text = forms.CharField(
        label="Or paste it",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "mono"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload: UploadedFile | None = cleaned.get("file")
        text: str = cleaned.get("text") or ""
        if upload and text.strip():
            raise forms.ValidationError("Give the file once: uploaded or pasted, not both.")
        if not upload and not text.strip():
            self.add_error("file", "Choose a file, or paste its content below.")
            return cleaned
        field = "file" if upload else "text"
        if upload is not None and (upload.size or 0) > MAX_FILE_BYTES:
            self.add_error(
                "file",
                f"The file is {(upload.size or 0) / 1_048_576:.1f} MB; up to "
                f"{MAX_FILE_BYTES // 1_048_576} MB can be imported.",
            )
            return cleaned
        raw: str | bytes = upload.read(MAX_FILE_BYTES + 1) if upload else text
        name = (upload.name or "upload") if upload else PASTED
        try:
            self._read(cleaned, raw, name)
        except ImportFailed as error:
            self.add_error(field, str(error))
        except SpecError as error:
            where = f" ({error.where})" if error.where else ""
            line = f" (line {error.line})" if error.line else ""
            self.add_error(field, f"{error.message}{line}{where}")
        return cleaned

    def _read(self, cleaned: dict[str, Any], raw: str | bytes, name: str) -> None:
        check_size(raw, what="file")
        try:
            data = loads_json(raw)
        except ValueError:
            data = None  # YAML, or not a document at all: only OpenAPI may be YAML
        if isinstance(data, dict) and "info" in data and "item" in data:
            cleaned["imported"] = parse_postman(raw)
        elif is_native(data):
            cleaned["imported"] = parse_native(raw)
        elif isinstance(data, dict) and "log" in data:
            stem = name.rsplit(".", 1)[0] if name != PASTED else "Imported HAR"
            cleaned["imported"] = parse_har(raw, name=stem[:200] or "Imported HAR")
        elif isinstance(data, dict) and "openapi" not in data and "swagger" not in data:
            raise ImportFailed(
                "This file is none of what can be imported: a Postman collection v2.1, an "
                "OpenAPI 3.x document, a HAR file or a collection exported from here."
            )
        else:
            checked = check_document(raw=raw, source_name=name)
            cleaned["checked"] = checked
            cleaned["imported"] = collection_from_spec(checked.spec)

    @property
    def imported(self) -> ImportedCollection:
        return self.cleaned_data["imported"]

    @property
    def openapi(self) -> CheckedDocument | None:
        return self.cleaned_data.get("checked")


class SaveRunForm(forms.Form):
    """Keep a run's request: its name, and the collection it goes in (or a new one)."""

    name = forms.CharField(label="Name", max_length=200)
    collection = forms.ModelChoiceField(
        label="Collection", queryset=Collection.objects.none(), required=False,
        empty_label="A new collection…",
    )  # fmt: skip
    new_collection = forms.CharField(label="New collection's name", max_length=200, required=False)

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = cast(forms.ModelChoiceField, self.fields["collection"])
        choices.queryset = Collection.objects.for_team(team)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("collection") and not (cleaned.get("new_collection") or "").strip():
            self.add_error("new_collection", "Name the new collection, or pick one above.")
        return cleaned


class HarForm(forms.Form):
    """A HAR file to pick entries from; then the entries picked and what to do with them."""

    SAVE, SUBMIT, DIAGNOSE = "save", "submit", "diagnose"

    file = forms.FileField(
        label="HAR file",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".har,.json"}),
    )
    text = forms.CharField(
        label="Or paste it",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"}),
    )
    entries = forms.TypedMultipleChoiceField(
        label="Entries", required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    name = forms.CharField(label="Collection name", max_length=200, required=False)
    action = forms.ChoiceField(
        choices=[("read", "Read"), (SAVE, "Save"), (SUBMIT, "Send"), (DIAGNOSE, "Diagnose")],
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload: UploadedFile | None = cleaned.get("file")
        text: str = cleaned.get("text") or ""
        if upload is not None:
            if (upload.size or 0) > MAX_FILE_BYTES:
                self.add_error("file", f"Up to {MAX_FILE_BYTES // 1_048_576} MB can be imported.")
                return cleaned
            raw = upload.read(MAX_FILE_BYTES + 1)
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("file", "The file is not UTF-8 text.")
                return cleaned
            cleaned["text"] = text
        if not text.strip():
            self.add_error("file", "Choose a HAR file, or paste it below.")
            return cleaned
        try:
            name = (cleaned.get("name") or "").strip() or "Imported HAR"
            cleaned["imported"] = parse_har(text, name=name)
        except ImportFailed as error:
            self.add_error("file" if upload else "text", str(error))
            return cleaned
        action = cleaned.get("action") or "read"
        cleaned["action"] = action
        if action != "read" and not cleaned.get("entries"):
            self.add_error("entries", "Pick at least one entry.")
        if action == self.SAVE and not (cleaned.get("name") or "").strip():
            self.add_error("name", "Name the collection the entries are saved in.")
        return cleaned

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any index may be picked; the ones the file has are checked in `picked`.
        entries = cast(forms.TypedMultipleChoiceField, self.fields["entries"])
        entries.choices = [(str(i), str(i)) for i in range(MAX_REQUESTS)]

    @property
    def imported(self) -> ImportedCollection:
        return self.cleaned_data["imported"]

    @property
    def picked(self) -> list[ImportedRequest]:
        wanted = set(self.cleaned_data.get("entries") or [])
        return [r for r in self.imported.requests if r.source_index in wanted]


class EnvironmentForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="E.g. “Kaiko production”, “sandbox”.")
    variables = forms.CharField(
        required=False,
        help_text="One per line: name=value, used as {{name}} in saved requests. Not encrypted: "
        "a secret's value is a vault reference, e.g. api_key={{vault:kaiko-prod}}.",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "mono"}),
    )

    def clean_variables(self) -> list[list[str]]:
        try:
            return check_environment_variables(self.cleaned_data["variables"])
        except RequestRefused as refusal:
            raise forms.ValidationError(str(refusal)) from None


class SavedRequestForm(forms.Form):
    """A saved request changed in place: its name, where it is kept, and its request.
    Values shown as [redacted] keep their kept secret; an empty key field keeps the key."""

    name = forms.CharField(max_length=200)
    collection = forms.ModelChoiceField(
        label="Collection", queryset=Collection.objects.none(), empty_label=None
    )
    folder = forms.CharField(
        max_length=500,
        required=False,
        help_text="E.g. “Trades/Archive”; empty: not in a folder.",
    )
    method = forms.ChoiceField(choices=[(m, m) for m in METHODS])
    url = forms.CharField(
        label="URL",
        max_length=4000,
        help_text="May hold {{variables}}, filled when it is run.",
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
    )
    params = RunForm.base_fields["params"]
    headers = RunForm.base_fields["headers"]
    body = forms.CharField(
        required=False,
        strip=False,
        max_length=MAX_BODY_CHARS,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
    )
    api_key = forms.CharField(
        label="API key",
        required=False,
        max_length=500,
        help_text="Empty: the key it has stays (never shown). A new key, {{vault:NAME}} or a "
        "{{variable}} replaces it.",
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    vault_secret = forms.ChoiceField(label="Or a key from the team's vault", required=False)
    remove_api_key = forms.BooleanField(label="Send it without an API key", required=False)
    timeout = forms.FloatField(
        label="Timeout (seconds)",
        required=False,
        min_value=0.5,
        max_value=settings.EGRESS_MAX_TIMEOUT,
        help_text="Empty: the default.",
        widget=forms.NumberInput(attrs={"step": "0.5"}),
    )
    profile = forms.ChoiceField(label="API profile", required=False)
    follow_redirects = forms.BooleanField(label="Follow redirects", required=False)

    def __init__(
        self, *args: Any, saved: SavedRequest, vault_names: Sequence[str] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.saved = saved
        self.kept = composed_of(saved)
        self.vault_names = list(vault_names)
        # A key that is a vault reference is shown as the vault secret picked.
        reference = VAULT_REFERENCE.match(self.kept.api_key)
        self.key_is_picked = bool(reference and reference.group(1) in self.vault_names)
        if reference and self.key_is_picked:
            self.initial = {**self.initial, "vault_secret": reference.group(1)}
        collection = cast(forms.ModelChoiceField, self.fields["collection"])
        collection.queryset = Collection.objects.for_team(saved.team)
        cast(forms.ChoiceField, self.fields["vault_secret"]).choices = [
            ("", "None: the key above")
        ] + [(name, name) for name in self.vault_names]
        cast(forms.ChoiceField, self.fields["profile"]).choices = [
            ("", "Automatic (from the host)")
        ] + [(p.slug, p.name) for p in profiles()]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        if VARIABLE.search(url):
            return url  # checked when it is run, with the variables' values
        try:
            parse_target(url)
        except TargetRefused as refusal:
            raise forms.ValidationError(refusal.message) from None
        return url

    def _restored(
        self, pairs: list[tuple[str, str]], kept: list[tuple[str, str]], *, lower: bool
    ) -> list[tuple[str, str]]:
        key = str.lower if lower else str
        values = {key(name): value for name, value in kept}
        restored = []
        for name, value in pairs:
            if value == REDACTED:
                if key(name) not in values:
                    raise forms.ValidationError(
                        f"{name} has no kept value to put in place of {REDACTED}: write its value."
                    )
                value = values[key(name)]
            restored.append((name, value))
        return restored

    def clean_params(self) -> list[tuple[str, str]]:
        pairs = parse_param_lines(self.cleaned_data["params"])
        return self._restored(pairs, self.kept.params, lower=False)

    def clean_headers(self) -> list[tuple[str, str]]:
        pairs = parse_header_lines(self.cleaned_data["headers"])
        if any(name.lower() == API_KEY_HEADER.lower() for name, _ in pairs):
            raise forms.ValidationError(
                f"Put the key in the API key field below, which is sent as {API_KEY_HEADER} and "
                "stored encrypted."
            )
        return self._restored(pairs, self.kept.headers, lower=True)

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        if body.replace("\r\n", "\n") == self.saved.request_body.replace("\r\n", "\n"):
            return self.kept.body  # as it was, its secret values in place
        if REDACTED in body:
            raise forms.ValidationError(
                f"The body still holds {REDACTED} where a secret was: write the values again, "
                "or leave the body as it was."
            )
        return body

    def clean_api_key(self) -> str:
        return RunForm.clean_api_key(self)  # type: ignore[arg-type]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        typed, picked = cleaned["api_key"], cleaned.get("vault_secret") or ""
        if picked and typed and typed != vault_reference(picked):
            self.add_error(
                "vault_secret",
                f"A key is typed above and the vault secret “{picked}” is picked: clear the "
                "key field, or pick “None” here.",
            )
            return cleaned
        if picked:
            key = vault_reference(picked)
        elif typed:
            key = typed
        else:
            dropped = cleaned["remove_api_key"] or self.key_is_picked  # "None" was picked
            key = "" if dropped else self.kept.api_key
        if cleaned["body"] and cleaned["method"] in BODYLESS_METHODS:
            self.add_error("body", f"A {cleaned['method']} request is sent without a body.")
            return cleaned
        cleaned["composed"] = Composed(
            method=cleaned["method"],
            url=cleaned["url"],
            params=cleaned["params"],
            headers=cleaned["headers"],
            body=cleaned["body"],
            api_key=key,
        )
        return cleaned

    @property
    def composed(self) -> Composed:
        return self.cleaned_data["composed"]
