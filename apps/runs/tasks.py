"""Celery tasks: thin wrappers that take ids only and call the worker's code."""

import os
import uuid

from celery import Task, shared_task

from apps.runs import execution, sweeper


@shared_task(bind=True, name="runs.execute_attempt", acks_late=True, reject_on_worker_lost=True)
def execute_attempt_task(self: Task, attempt_id: str) -> None:
    worker = f"{self.request.hostname or 'worker'} pid {os.getpid()}"
    execution.execute_attempt(attempt_id=uuid.UUID(attempt_id), worker=worker)


@shared_task(name="runs.sweep", ignore_result=True)
def sweep_task() -> None:
    sweeper.sweep()
