from django.conf import settings
from django.http import HttpRequest


def sandbox(request: HttpRequest) -> dict[str, bool]:
    """Whether pages link to the sandbox (SANDBOX_ENABLED)."""
    return {"sandbox_enabled": settings.SANDBOX_ENABLED}
