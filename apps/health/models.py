from django.db import models


class WorkerHeartbeat(models.Model):
    """One Celery worker that is (or was) running, and when it last said it was alive.

    Each worker writes its row every WORKER_HEARTBEAT_INTERVAL and removes it when it stops;
    the row of a killed worker just grows old.
    """

    name = models.CharField(max_length=200, unique=True)  # the worker's node name
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.name} (pid {self.pid})"
