"""Celery tasks: thin wrappers that take ids only and call the services."""

import uuid

from celery import shared_task

from apps.runs import services


@shared_task(name="runs.execute_run", acks_late=True, reject_on_worker_lost=True)
def execute_run_task(run_id: str) -> None:
    services.execute_run(run_id=uuid.UUID(run_id))
