import sys

from django import db
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.health import selectors


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For a load balancer: 200 when the database and the broker answer, else 503.

    No worker running is reported but does not make it 503: this web process can still take
    submissions (they wait in the queue), so it should keep receiving traffic.
    """
    database = selectors.database_ok()
    broker = selectors.broker_ok()
    workers = selectors.worker_status() if database else None
    healthy = database and broker
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": {"ok": database},
        "broker": {"ok": broker},
        "workers": {
            "count": workers.count if workers else None,
            "last_heartbeat_seconds_ago": workers.last_seen_seconds if workers else None,
        },
    }
    return JsonResponse(body, status=200 if healthy else 503)


# Pages for errors the request did not cause. They are rendered without the request's
# context processors (those read the database, which may be the thing that is down).
DATABASE_DOWN_RETRY_AFTER = 10


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler. A database that cannot be reached answers 503, with a page
    that says so and asks to try again shortly: the request did nothing wrong."""
    _type, exception, _traceback = sys.exc_info()
    if isinstance(exception, (db.OperationalError, db.InterfaceError)):
        page = loader.render_to_string("health/unavailable.html")
        response = HttpResponse(page, status=503)
        response["Retry-After"] = str(DATABASE_DOWN_RETRY_AFTER)
        return response
    return HttpResponseServerError(loader.render_to_string("health/server_error.html"))
