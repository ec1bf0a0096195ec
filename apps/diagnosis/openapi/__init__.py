"""Profiles from OpenAPI documents: read and check a document (``document``), turn it into
a typed spec (``spec``), and diagnose an exchange against it (``checks``). Pure: no
Django, no network; the team-scoped storage of documents lives in apps.library."""

from apps.diagnosis.openapi.checks import SpecFindings, apply_spec, covers, find_spec_causes
from apps.diagnosis.openapi.document import MAX_DOCUMENT_BYTES, Document, SpecError, load_document
from apps.diagnosis.openapi.spec import Operation, Spec, build_spec

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "Document",
    "Operation",
    "Spec",
    "SpecError",
    "SpecFindings",
    "apply_spec",
    "build_spec",
    "covers",
    "find_spec_causes",
    "load_document",
]
