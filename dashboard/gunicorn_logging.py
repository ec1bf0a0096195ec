"""gunicorn's access log, with what a log line must never carry taken out.

gunicorn writes its access log itself, past Django's logging filters: a share, invite or
password-reset link's token in the path (or in a Referer), a secret-named query parameter,
or a credential header named in a custom `access_log_format` would be written as sent.
`gunicorn.conf.py` at the project's root makes this the logger of every gunicorn started
there.
"""

from datetime import timedelta
from typing import Any

from gunicorn import glogging

from apps.egress.redaction import REDACTED, is_secret_header, redact_url
from dashboard.logs import redact_token_paths

# Atoms that hold a path, a query or a URL.
_URL_ATOMS = ("r", "U", "q", "f", "{raw_uri}e", "{path_info}e", "{query_string}e")


def redact_atoms(atoms: dict[str, Any]) -> dict[str, Any]:
    """Access-log atoms with link tokens, secret query values and credential headers
    replaced."""
    cleaned: dict[str, Any] = {}
    for key, value in atoms.items():
        if not isinstance(value, str):
            cleaned[key] = value
        elif key.startswith("{") and key[-2:] in ("}i", "}e") and is_secret_header(key[1:-2]):
            cleaned[key] = REDACTED
        elif key.startswith("{") and key[-2:] == "}e" and key[1:-2].startswith("http_"):
            name = key[len("{http_") : -2].replace("_", "-")
            cleaned[key] = REDACTED if is_secret_header(name) else redact_token_paths(value)
        elif key in _URL_ATOMS or key.startswith("{referer}"):
            cleaned[key] = redact_token_paths(_redact_query(value))
        else:
            cleaned[key] = redact_token_paths(value)
    return cleaned


def _redact_query(text: str) -> str:
    """`redact_url` on a request line ("GET /p?q HTTP/1.1"), a URL, a path or a bare query."""
    if " " in text:
        method, _, rest = text.partition(" ")
        target, _, protocol = rest.rpartition(" ")
        if target:
            return f"{method} {redact_url(target)} {protocol}"
        return text
    if "?" in text or "://" in text or text.startswith("/"):
        return redact_url(text)
    return redact_url(f"?{text}")[1:] if "=" in text else text


class RedactingLogger(glogging.Logger):
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: timedelta) -> dict[str, Any]:
        return redact_atoms(super().atoms(resp, req, environ, request_time))
