"""A small client of the dashboard's JSON API: every call, and the errors people can fix."""

from typing import Any

import requests

USER_AGENT = "apidiag/0.1"
TIMEOUT = 45  # seconds: the API holds an answer for at most 30 s (?wait=30)
PROBLEM = "application/problem+json"  # the content type of every error the API answers


class UsageError(Exception):
    """Something the person running the CLI can fix (configuration, token, input)."""


class Client:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT})

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}/api/v1{path}"
        try:
            response = self.session.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise UsageError(
                f"Cannot reach the dashboard at {self.base_url} (APIDIAG_URL): "
                f"{type(exc).__name__}."
            ) from None
        if response.status_code >= 400:
            raise UsageError(_problem_text(response))
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._call(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise UsageError(
                f"{self.base_url} answered something that is not the dashboard's API "
                "(check APIDIAG_URL)."
            ) from None

    def text(self, path: str, **kwargs: Any) -> str:
        return self._call("GET", path, **kwargs).text


def _problem_text(response: requests.Response) -> str:
    """An RFC 9457 problem as lines for people: the detail, then each field's message."""
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    status = response.status_code
    detail = str(problem.get("detail") or problem.get("title") or response.reason or "")
    if status == 401:
        return f"The API token was refused (APIDIAG_TOKEN): {detail}"
    # The API answers every 404 as a problem: any other 404 is another site's (or page's).
    if status == 404 and not response.headers.get("Content-Type", "").startswith(PROBLEM):
        return (
            f"{response.url} was not found: is APIDIAG_URL the dashboard's address "
            "(e.g. http://127.0.0.1:8000)?"
        )
    lines = [f"{status} {problem.get('title') or response.reason}: {detail}".rstrip(": ")]
    errors = problem.get("errors")
    if isinstance(errors, list) and len(errors) > 1:
        for error in errors:
            if isinstance(error, dict):
                lines.append(f"  {error.get('field') or 'request'}: {error.get('message')}")
    if status == 429 and response.headers.get("Retry-After"):
        lines.append(f"  Try again in {response.headers['Retry-After']} s.")
    return "\n".join(lines)
