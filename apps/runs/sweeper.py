"""The sweeper (Celery beat): publishes again the attempts the broker lost or never got,
and settles the running ones whose worker stopped."""

import logging

from django.utils import timezone

from apps.runs import recovery
from apps.runs.execution import _state_of, give_up_attempt, interrupt_attempt, recovery_limits
from apps.runs.models import Attempt
from apps.runs.services import enqueue_attempt

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500
SWEEP_FIELDS = (
    "status", "deliveries", "created_at", "not_before", "published_at", "started_at",
    "heartbeat_at", "worker", "number", "run__method", "run__url",
)  # fmt: skip


def sweep() -> dict[str, int]:
    """Publish again the attempts the broker lost or never got, and settle the running
    ones whose worker stopped (see `apps.runs.recovery.on_sweep`).

    Safe to run at any time, twice at once included: every change is a conditional update,
    and a second publish of an attempt is ignored by the worker that gets it.
    """
    now = timezone.now()
    limits = recovery_limits()
    candidates = (
        Attempt.objects.filter(status__in=[Attempt.Status.QUEUED, Attempt.Status.RUNNING])
        .select_related("run")
        .only(*SWEEP_FIELDS)
        .order_by("created_at")[:SWEEP_BATCH]
    )
    counts = {action.value: 0 for action in recovery.Action}
    for attempt in candidates:
        action = recovery.on_sweep(_state_of(attempt), now=now, limits=limits)
        if action == recovery.Action.REPUBLISH:
            done = enqueue_attempt(attempt_id=attempt.id)
        elif action == recovery.Action.INTERRUPT:
            done = interrupt_attempt(attempt=attempt)
        elif action == recovery.Action.GIVE_UP:
            done = give_up_attempt(attempt=Attempt.objects.select_related("run").get(pk=attempt.pk))
        else:
            continue
        counts[action.value] += int(done)
    acted = {name: count for name, count in counts.items() if count}
    if acted:
        logger.info("sweep: %s", ", ".join(f"{name} {count}" for name, count in acted.items()))
    return counts
