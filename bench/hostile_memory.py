"""Worker memory with 100 runs in flight, 8 of them reading 1 GiB bodies.

    .venv/bin/python bench/hostile_memory.py [--json FILE]   (or `make bench`)

On its own PostgreSQL and Redis (free ports, temporary folders): gunicorn serves the
sandbox's oversize answers, the local upstream (`bench/upstream.py`) answers the others
after 15 s, and one Celery worker (threads pool, 100 runs in flight) executes 100 runs at
once, twice: 92 slow ones and 8 x `/sandbox/large?mb=1024` (1 GiB of JSON each), then 92
slow ones and 8 x `/sandbox/bomb?mb=1024` (gzip that decodes to 1 GiB each). Then the peak
resident memory (VmHWM) of the worker process, and how many of the runs were in flight at
the same time.

A benchmark, not a test: it prints figures (and writes them as JSON with --json).
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pipeline import upstream_server  # noqa: E402

from tests.support.services import (  # noqa: E402
    Browser,
    Postgres,
    Stack,
    dashboard_env,
    migrate_and_add_user,
    private_postgres,
    private_redis,
)

LOGS = ROOT / "artifacts" / "bench"
USERNAME = "bench"
PASSWORD = "bench-horse-battery-staple"
IN_FLIGHT = 100
HOSTILE_RUNS = 8
SLOW_MS = 15_000
MIB = 1024


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_done(postgres: Postgres, ids: list[str], timeout: float = 300) -> list[tuple]:
    deadline = time.monotonic() + timeout
    with postgres.connect() as conn:
        while True:
            rows = conn.execute(
                "SELECT r.status, a.response_body_truncated, a.response_body_bytes, "
                "a.started_at, a.finished_at FROM runs_run r JOIN runs_attempt a "
                "ON a.run_id = r.id WHERE r.id::text = ANY(%s)",
                [ids],
            ).fetchall()
            if len(rows) == len(ids) and all(row[0] == "done" for row in rows):
                return rows
            if time.monotonic() > deadline:
                raise SystemExit(f"error: the hostile runs were not done within {timeout} s")
            time.sleep(0.2)


def most_at_once(rows: list[tuple]) -> int:
    """The largest number of runs in flight at the same moment."""
    events = sorted([(row[3], 1) for row in rows] + [(row[4], -1) for row in rows])
    current = best = 0
    for _, step in events:
        current += step
        best = max(best, current)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    results: dict[str, object] = {}
    with (
        private_postgres("bench", prefix="bench-pg-") as postgres,
        private_redis(LOGS, prefix="bench-redis-") as redis,
        upstream_server() as upstream,
    ):
        env = dashboard_env(
            deployed=True,
            database_url=postgres.url,
            broker_url=redis.url,
            queue="bench-hostile",
            var_dir=tempfile.mkdtemp(prefix="bench-hostile-var-"),
            LOG_LEVEL="WARNING",
            SANDBOX_ENABLED="1",  # its oversize answers, off by default when deployed
            # One team here: its share is the whole worker.
            RUN_TEAM_MAX_IN_FLIGHT=str(IN_FLIGHT),
        )
        migrate_and_add_user(env, username=USERNAME, password=PASSWORD, team="Bench")
        stack = Stack(env=env, name="hostile", logs=LOGS)
        try:
            stack.start_web(workers=2, threads=8)
            browser = Browser(stack.web_url, username=USERNAME, password=PASSWORD)
            peaks: list[float] = []
            for kind in ("large", "bomb"):
                url = f"{stack.web_url}/sandbox/{kind}?mb={MIB}"
                slow = IN_FLIGHT - HOSTILE_RUNS
                print(f"hostile: {slow} slow runs and {HOSTILE_RUNS} of {url}…", flush=True)
                ids, hostile = [], []
                hostile_at = {n * (IN_FLIGHT // HOSTILE_RUNS) for n in range(HOSTILE_RUNS)}
                for index in range(IN_FLIGHT):
                    hostile_one = index in hostile_at
                    target = url if hostile_one else f"{upstream}/sleep/{SLOW_MS}/{kind}/{index}"
                    status, run_id = browser.submit(target, timeout=SLOW_MS / 1000 + 20)
                    if run_id is None:
                        raise SystemExit(f"error: a submission answered HTTP {status}")
                    ids.append(str(run_id))
                    if hostile_one:
                        hostile.append(str(run_id))
                # Queued first, then one worker start: it takes them all together.
                worker = stack.start_worker("worker", concurrency=IN_FLIGHT)
                rows = wait_done(postgres, ids)
                peaks.append(peak_rss_mb(worker.pid))
                stack.stop("worker")
                hostile_rows = wait_done(postgres, hostile)
                results[kind] = {
                    "runs": len(rows),
                    "hostile_runs": len(hostile_rows),
                    "truncated": sum(1 for row in hostile_rows if row[1]),
                    "kept_bytes_max": max(row[2] or 0 for row in hostile_rows),
                    "at_once": most_at_once(rows),
                    "peak_rss_mb": peaks[-1],
                }
            results["in_flight"] = IN_FLIGHT
            results["worker_processes"] = 1
            results["peak_rss_mb_max"] = max(peaks)
        finally:
            stack.stop_all()
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
