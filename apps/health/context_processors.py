from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from apps.health import selectors


def worker_status(request: HttpRequest) -> dict[str, object]:
    """Whether a worker is running, for the header's banner; asked only if a page shows it."""
    return {"worker_status": SimpleLazyObject(selectors.worker_status)}
