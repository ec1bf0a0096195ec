"""Template helpers for diagnoses and playbooks (load with {% load diagnosis_tags %})."""

import re
from collections.abc import Mapping
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from apps.diagnosis.diagnose import format_seconds
from apps.diagnosis.lookups import get_playbook

register = template.Library()

SEVERITY_LABELS = {"ok": "OK", "info": "Info", "warning": "Warning", "error": "Error"}
EVIDENCE_SOURCE_LABELS = {
    "status": "Status",
    "header": "Response header",
    "body": "Response body",
    "param": "Query parameter",
    "request_header": "Request header",
    "request": "Request",
    "timing": "Timing",
    "failure": "Failure",
    "history": "Recent runs",
}
_CODE_SPAN = re.compile(r"`([^`]+)`")


@register.filter
def inline_code(text: object) -> SafeString:
    """Escape the text, then show `backticked` parts as code. For the catalog's own text,
    never for text from a response (that is only ever escaped)."""
    escaped = escape("" if text is None else str(text))
    return mark_safe(_CODE_SPAN.sub(r"<code>\1</code>", escaped))  # noqa: S308 (escaped above)


@register.filter
def severity_label(severity: object) -> str:
    return SEVERITY_LABELS.get(str(severity), str(severity).capitalize())


ACTION_LABELS = {
    "reauthenticate": "Re-authenticate",
    "fix_request": "Edit and re-run",
    "retry": "Retry now",
    "back_off": "Retry with backoff",
    "retry_later": "Retry now, once the wait is over",
}


@register.filter
def action_label(action: object) -> str:
    return ACTION_LABELS.get(str(action), str(action))


@register.filter
def evidence_source(source: object) -> str:
    """Where a line of evidence was read, for people: "request_header" → "Request header"."""
    return EVIDENCE_SOURCE_LABELS.get(str(source), str(source).replace("_", " ").capitalize())


@register.filter
def seconds(value: object) -> str:
    """45 → "45 s", 125 → "2 min 5 s"."""
    try:
        return format_seconds(int(str(value)))
    except (ValueError, OverflowError):
        return ""


@register.filter
def playbook_title(slug: str) -> str:
    try:
        return get_playbook(slug).title
    except KeyError:
        return slug


@register.simple_tag
def playbook_links(diagnosis: Any) -> list[dict[str, str | None]]:
    """The playbooks of a diagnosis or a cause (the object or its stored dict) as title,
    summary and URL. A slug no longer in the catalog (an old stored diagnosis) keeps its
    name, no URL."""
    if isinstance(diagnosis, Mapping):
        slugs = diagnosis.get("playbooks") or []
    else:
        slugs = getattr(diagnosis, "playbooks", None) or []
    links: list[dict[str, str | None]] = []
    for slug in slugs:
        try:
            playbook = get_playbook(str(slug))
        except KeyError:
            links.append({"slug": str(slug), "title": str(slug), "summary": "", "url": None})
            continue
        url = reverse("diagnosis:playbook", args=[playbook.slug])
        links.append(
            {
                "slug": playbook.slug,
                "title": playbook.title,
                "summary": playbook.summary,
                "url": url,
            }
        )
    return links
