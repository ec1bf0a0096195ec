"""The Celery application. Workers start with `celery -A dashboard worker`, the sweeper's
schedule with `celery -A dashboard beat`."""

import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

# filesystem:// publishes atomically (see dashboard/broker.py).
TRANSPORT_ALIASES["filesystem"] = "dashboard.broker:Transport"

app = Celery("dashboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each worker writes a heartbeat row (header banner, run page, /healthz).
app.steps["worker"].add("apps.health.worker:HeartbeatStep")
