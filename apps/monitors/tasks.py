"""Celery tasks of monitors: thin, ids only."""

import os

from celery import Task, shared_task

from apps.monitors import services


@shared_task(name="monitors.tick", ignore_result=True)
def tick_task() -> None:
    services.tick()


@shared_task(name="monitors.purge", ignore_result=True)
def purge_task() -> None:
    services.purge_old_checks()


@shared_task(bind=True, name="monitors.run_check", acks_late=True, ignore_result=True)
def run_check_task(self: Task, check_id: int) -> None:
    worker = f"{self.request.hostname or 'worker'} pid {os.getpid()}"
    services.run_check(check_id=check_id, worker=worker)


@shared_task(name="monitors.deliver", acks_late=True, ignore_result=True)
def deliver_task(delivery_id: int) -> None:
    services.deliver(delivery_id=delivery_id)
