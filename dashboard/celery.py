"""The Celery application. Workers start with `celery -A dashboard worker`, the sweeper's
schedule with `celery -A dashboard beat`."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

# filesystem:// publishes atomically (see dashboard/broker.py).
TRANSPORT_ALIASES["filesystem"] = "dashboard.broker:Transport"

app = Celery("dashboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each worker writes a heartbeat row (header banner, run page, /healthz).
app.steps["worker"].add("apps.health.worker:HeartbeatStep")


@task_prerun.connect
@task_postrun.connect
def close_old_connections(**_: object) -> None:
    """Around each task, as Django does around each request: the thread's database connection
    is closed if it is broken or older than DB_CONN_MAX_AGE, and kept otherwise (the settings'
    CELERY_DB_REUSE_MAX stops Celery from closing it every time)."""
    from django.db import close_old_connections as close_if_obsolete

    close_if_obsolete()
