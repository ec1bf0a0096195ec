from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from apps.diagnosis.openapi import MAX_DOCUMENT_BYTES, SpecError
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

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
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
