"""The Celery application. Workers start with `celery -A dashboard worker`, the sweeper's
schedule with `celery -A dashboard beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

app = Celery("dashboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Each worker writes a heartbeat row (header banner, run page, /healthz).
app.steps["worker"].add("apps.health.worker:HeartbeatStep")
