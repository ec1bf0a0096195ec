from django.http import HttpRequest, JsonResponse
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
