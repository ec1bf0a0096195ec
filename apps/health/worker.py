"""The worker's heartbeat: a Celery bootstep whose thread writes the worker's row."""

import contextlib
import logging
import os
import threading
from datetime import datetime

from celery import bootsteps
from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

logger = logging.getLogger(__name__)


class HeartbeatStep(bootsteps.StartStopStep):
    """Every WORKER_HEARTBEAT_INTERVAL, note in the database that this worker is alive.

    A thread of the worker's main process, started after the pool (so no pool process
    inherits its database connection); the row is removed when the worker stops.
    """

    requires = ("celery.worker.components:Pool",)

    def __init__(self, parent: object, **kwargs: object) -> None:
        super().__init__(parent, **kwargs)
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, parent: object) -> None:
        name = str(getattr(parent, "hostname", "") or "worker")
        started_at = timezone.now()
        self.stopping.clear()
        self.thread = threading.Thread(
            target=self._beat, args=(name, started_at), name="worker-heartbeat", daemon=True
        )
        self.thread.start()

    def stop(self, parent: object) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def _beat(self, name: str, started_at: datetime) -> None:
        from apps.health import services

        try:
            while True:
                try:
                    services.record_heartbeat(name=name, pid=os.getpid(), started_at=started_at)
                except DatabaseError as exc:
                    logger.warning("worker heartbeat missed (%s)", type(exc).__name__)
                # The connection is closed between beats: none is held for nothing.
                connections.close_all()
                if self.stopping.wait(settings.WORKER_HEARTBEAT_INTERVAL):
                    break
            with contextlib.suppress(DatabaseError):
                services.forget_worker(name=name)
        finally:
            connections.close_all()
