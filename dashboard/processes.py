"""The command lines of the Celery processes, in one place: `make run` (scripts/run_dev.py),
the tests' worker and the private stacks of the chaos tests and benchmarks start them so."""

import sys
from collections.abc import Sequence


def worker_command(
    *,
    concurrency: int | None = None,
    queues: str | None = None,
    hostname: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """`celery -A dashboard worker` with this interpreter: Celery's threads pool, with
    `concurrency` runs in flight (WORKER_CONCURRENCY when None). Without gossip and mingle:
    the workers share nothing but the broker and the database, and start faster.

    Threads, not processes: a run spends its time waiting on the network, and 32 threads
    in one process hold 32 runs in flight for the memory of one process (bench/RESULTS.md
    has the figures). The threads pool has no time-limit signals; `apps.runs.inflight`
    stands in for them (one heartbeat for all the process's runs, and a watchdog that
    settles a run past RUN_SOFT_TIME_LIMIT), and egress bounds every request by its own
    total deadline.
    """
    command = [
        sys.executable, "-m", "celery", "-A", "dashboard", "worker",
        "--loglevel", "INFO", "--pool", "threads",
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    if concurrency is not None:
        command += ["--concurrency", str(concurrency)]
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
