"""Celery tasks: thin wrappers that take ids only and call the services."""

import uuid

from celery import shared_task

from apps.runs import services


@shared_task(name="runs.execute_attempt", acks_late=True, reject_on_worker_lost=True)
def execute_attempt_task(attempt_id: str) -> None:
    services.execute_attempt(attempt_id=uuid.UUID(attempt_id))
