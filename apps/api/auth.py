"""Bearer tokens and the per-token rate limit of the API."""

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage
from ninja.security import HttpBearer

from apps.api import selectors, services
from apps.api.models import ApiToken


class NotAuthenticated(Exception):
    """No usable token; the message says why, for the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RateLimited(Exception):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = max(1, retry_after)


def _token_key(group: str, request: HttpRequest) -> str:
    return str(request.auth.pk)  # type: ignore[attr-defined]


def check_rate(request: HttpRequest, *, group: str, rate: str, key: object) -> None:
    """Count this request in the group; RateLimited (with the seconds to wait) past the rate."""
    usage = get_usage(request, group=group, key=key, rate=rate, increment=True)
    if usage and usage["should_limit"]:
        raise RateLimited(
            f"Too many requests in a short time (at most {rate}): wait, then try again.",
            retry_after=int(usage["time_left"]),
        )


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>`: a personal API token made on the Tokens page.

    The request then acts as the token's user in the token's team; each token is limited to
    RATELIMIT_API requests.
    """

    def __call__(self, request: HttpRequest) -> ApiToken:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise NotAuthenticated(
                "Send an API token as 'Authorization: Bearer <token>'. Make one on the Tokens "
                "page of the dashboard."
            )
        found = selectors.token_for_value(value.strip())
        if isinstance(found, selectors.Refusal):
            raise NotAuthenticated(found.message)
        request.user = found.user
        request.auth = found  # type: ignore[attr-defined]
        check_rate(request, group="api", rate=settings.RATELIMIT_API, key=_token_key)
        services.note_use(token=found)
        return found

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        raise NotImplementedError  # __call__ does it all
