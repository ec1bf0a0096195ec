"""A saved request or a run as cURL, Python requests and HTTPie, secrets as variables: the
builders of apps/sharing/curl.py fed with the stored, redacted values only (each
"[redacted]" becomes a variable)."""

from dataclasses import dataclass

from apps.library.models import SavedRequest
from apps.runs.models import Run
from apps.sharing.curl import CurlCommand, curl_command, httpie_command, python_requests_code


@dataclass(frozen=True)
class Snippet:
    label: str
    slug: str
    command: CurlCommand


def _snippets(**request: object) -> list[Snippet]:
    return [
        Snippet("cURL", "curl", curl_command(**request)),  # type: ignore[arg-type]
        Snippet("Python requests", "python", python_requests_code(**request)),  # type: ignore[arg-type]
        Snippet("HTTPie", "httpie", httpie_command(**request)),  # type: ignore[arg-type]
    ]


def snippets_of_saved(saved: SavedRequest) -> list[Snippet]:
    return _snippets(
        method=saved.method,
        url=saved.url,
        query=[(n, v) for n, v in saved.query],
        headers=[(n, v) for n, v in saved.request_headers],
        has_api_key=saved.has_api_key,
        body=saved.request_body,
        timeout=saved.timeout_seconds,
        follow_redirects=saved.follow_redirects,
    )


def snippets_of_run(run: Run) -> list[Snippet]:
    return _snippets(
        method=run.method,
        url=run.url,
        query=[(n, v) for n, v in run.query],
        headers=[(n, v) for n, v in run.request_headers],
        has_api_key=run.has_api_key,
        body=run.request_body,
        timeout=run.timeout_seconds,
        follow_redirects=run.follow_redirects,
    )
