from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from apps.diagnosis.openapi import MAX_DOCUMENT_BYTES, SpecError
from apps.library.importers.curl import MAX_COMMAND_CHARS, CurlError, ParsedCurl, parse_curl
from apps.library.importers.raw_http import RawHttpError, looks_like_raw_http, parse_raw_http
from apps.library.services import PASTED, CheckedDocument, check_document

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

    def clean(self) -> dict:
        cleaned = super().clean()
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
        label="Paste a cURL command or a raw HTTP request",
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
