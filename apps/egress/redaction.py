"""Recognise secrets by name and remove them by value, before anything is stored or shown."""

import base64
import json
import re
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "[redacted]"

# Header names whose values are credentials, compared in lower case.
SECRET_HEADER_NAMES = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
        "x-csrftoken",
    }
)
# Query and body keys that carry credentials: matched as whole words inside the name.
_SECRET_KEY_PATTERN = re.compile(
    r"(^|[-_.])(api[-_]?key|apikey|key|token|access[-_]?token|secret|password|passwd|"
    r"pwd|auth|signature|sig|session|credentials?)($|[-_.])",
    re.IGNORECASE,
)


def is_secret_header(name: str) -> bool:
    lowered = name.strip().lower()
    return lowered in SECRET_HEADER_NAMES or bool(_SECRET_KEY_PATTERN.search(lowered))


def is_secret_param(name: str) -> bool:
    return bool(_SECRET_KEY_PATTERN.search(name.strip()))


def split_secret_pairs(
    pairs: Iterable[tuple[str, str]], *, is_secret: Callable[[str], bool]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(pairs with secret values replaced by REDACTED, the secret pairs themselves)."""
    shown: list[tuple[str, str]] = []
    secret: list[tuple[str, str]] = []
    for name, value in pairs:
        if is_secret(name) and value:
            shown.append((name, REDACTED))
            secret.append((name, value))
        else:
            shown.append((name, value))
    return shown, secret


def secret_forms(values: Iterable[str]) -> list[str]:
    """Each secret and the encodings in which it is commonly echoed back (base64)."""
    forms: set[str] = set()
    for value in values:
        if len(value) < 4:  # too short to remove without mangling unrelated text
            continue
        forms.add(value)
        encoded = base64.b64encode(value.encode()).decode()
        forms.add(encoded)
        forms.add(encoded.rstrip("="))
        forms.add(base64.urlsafe_b64encode(value.encode()).decode().rstrip("="))
    return sorted(forms, key=len, reverse=True)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """The text with every occurrence of every secret (and its base64 forms) replaced."""
    for form in secret_forms(secrets):
        text = text.replace(form, REDACTED)
    return text


def redact_url(url: str) -> str:
    """The URL with the values of secret-named query parameters (and any password before the
    host) replaced by REDACTED; a URL with neither comes back unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    changed = False
    if parts.password:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{parts.username or ''}:{REDACTED}@{host}")
        changed = True
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(is_secret_param(name) and value for name, value in pairs):
        shown = [
            (name, REDACTED if is_secret_param(name) and value else value) for name, value in pairs
        ]
        parts = parts._replace(query=urlencode(shown, safe="[]"))
        changed = True
    return urlunsplit(parts) if changed else url


def redact_body(text: str, content_type: str) -> tuple[str, list[str]]:
    """A JSON or form-encoded body with the values of secret-named keys replaced, and those
    values. Other bodies come back as they are (their secrets are removed by value)."""
    lowered = content_type.lower()
    if "json" in lowered or (not lowered and text.lstrip()[:1] in ("{", "[")):
        try:
            data = json.loads(text)
        except ValueError:
            return text, []
        found: list[str] = []
        cleaned = _redact_json(data, found)
        return (json.dumps(cleaned, ensure_ascii=False) if found else text), found
    if "x-www-form-urlencoded" in lowered:
        pairs = parse_qsl(text, keep_blank_values=True)
        found = [value for name, value in pairs if is_secret_param(name) and value]
        if not found:
            return text, []
        shown = [
            (name, REDACTED if is_secret_param(name) and value else value) for name, value in pairs
        ]
        return urlencode(shown, safe="[]"), found
    return text, []


def _redact_json(value: object, found: list[str]) -> object:
    if isinstance(value, dict):
        result: dict[object, object] = {}
        for key, item in value.items():
            if is_secret_param(str(key)) and isinstance(item, str | int | float) and item != "":
                found.append(str(item))
                result[key] = REDACTED
            else:
                result[key] = _redact_json(item, found)
        return result
    if isinstance(value, list):
        return [_redact_json(item, found) for item in value]
    return value
