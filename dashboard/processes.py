"""The command lines of the Celery processes, in one place: `make run` (scripts/run_dev.py),
the tests' worker and the private stacks of the chaos tests and benchmarks start them so."""

import sys
from collections.abc import Sequence


def worker_command(
    *,
    concurrency: int,
    queues: str | None = None,
    hostname: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """`celery -A dashboard worker` with this interpreter. Without gossip and mingle: the
    workers share nothing but the broker and the database, and start faster."""
    command = [
        sys.executable, "-m", "celery", "-A", "dashboard", "worker",
        "--loglevel", "INFO", "--concurrency", str(concurrency),
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    if queues:
        command += ["--queues", queues]
    if hostname:
        command += ["--hostname", hostname]
    return [*command, *extra]


def beat_command(*, schedule: str | None = None) -> list[str]:
    """`celery -A dashboard beat` with this interpreter (the sweeper's schedule); its
    schedule file under VAR_DIR unless `schedule` names another."""
    command = [sys.executable, "-m", "celery", "-A", "dashboard", "beat", "--loglevel", "INFO"]
    if schedule:
        command += ["--schedule", schedule]
    return command
