"""The attempts a worker process has in flight, for Celery's threads pool.

One thread per process notes every RUN_HEARTBEAT_INTERVAL that they are all alive (one
UPDATE per delivery number, not a thread and a database connection per run). It is also the
watchdog that stands in for the time limits the threads pool has no signals for: an attempt
still in flight past RUN_SOFT_TIME_LIMIT is handed to its `on_overdue` (which stores it as
timed out) and is no longer noted alive. The thread that carries it stores nothing later:
every save is guarded by the attempt's delivery and status (`execution.store_result`).
"""

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from apps.runs.models import Attempt

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Held:
    delivery: int
    started: float  # time.monotonic()
    on_overdue: Callable[[], object]


class InFlight:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[uuid.UUID, _Held] = {}
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def holding(
        self, *, attempt_id: uuid.UUID, delivery: int, on_overdue: Callable[[], object]
    ) -> Iterator[None]:
        """Note the attempt alive while the block runs; past the soft time limit, call
        `on_overdue` (from the watchdog's thread) and stop noting it."""
        with self._lock:
            self._held[attempt_id] = _Held(delivery, self._clock(), on_overdue)
            if self._thread is None or not self._thread.is_alive():
                # Started on first use: after a fork too, in the process that uses it.
                self._thread = threading.Thread(target=self._loop, name="runs-in-flight")
                self._thread.daemon = True
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(attempt_id, None)

    def count(self) -> int:
        with self._lock:
            return len(self._held)

    def _loop(self) -> None:
        while True:
            time.sleep(settings.RUN_HEARTBEAT_INTERVAL)
            try:
                self.beat()
            except DatabaseError as exc:
                logger.warning("heartbeat of the runs in flight missed (%s)", exc)
                with contextlib.suppress(DatabaseError):
                    connection.close()
            except Exception:
                logger.exception("heartbeat of the runs in flight failed")

    def beat(self) -> None:
        """One round: settle the overdue attempts, then note the others alive."""
        now = self._clock()
        limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
        with self._lock:
            overdue = {k: v for k, v in self._held.items() if now - v.started > limit}
            for attempt_id in overdue:
                del self._held[attempt_id]
            by_delivery: dict[int, list[uuid.UUID]] = {}
            for attempt_id, held in self._held.items():
                by_delivery.setdefault(held.delivery, []).append(attempt_id)
        for attempt_id, held in overdue.items():
            logger.warning(
                "attempt %s is still in flight after the %s s time limit; stored as timed out",
                attempt_id,
                limit,
            )
            try:
                held.on_overdue()
            except Exception:
                # Left running without a heartbeat: the sweeper settles it once stale.
                logger.exception("attempt %s could not be stored as timed out", attempt_id)
        stamp = timezone.now()
        for delivery, ids in by_delivery.items():
            Attempt.objects.filter(
                pk__in=ids, status=Attempt.Status.RUNNING, deliveries=delivery
            ).update(heartbeat_at=stamp)


# The runs this process has in flight.
IN_FLIGHT = InFlight()
