"""Worker memory under hostile responses: 8 runs reading 1 GiB bodies at once.

    .venv/bin/python bench/hostile_memory.py [--json FILE]   (or `make bench`)

On its own PostgreSQL and Redis (free ports, temporary folders): gunicorn serves the
sandbox's oversize answers, a Celery worker with 8 processes executes 8 runs at once, twice:
8 x `/sandbox/large?mb=1024` (1 GiB of JSON each) and 8 x `/sandbox/bomb?mb=1024` (gzip
that decodes to 1 GiB each). Then the peak resident memory (VmHWM) of every worker process,
and how many of the runs were in flight at the same time.

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
RUNS_AT_ONCE = 8
MIB = 1024


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


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
    ):
        env = dashboard_env(
            database_url=postgres.url,
            broker_url=redis.url,
            queue="bench-hostile",
            var_dir=tempfile.mkdtemp(prefix="bench-hostile-var-"),
            LOG_LEVEL="WARNING",
        )
        migrate_and_add_user(env, username=USERNAME, password=PASSWORD, team="Bench")
        stack = Stack(env=env, name="hostile", logs=LOGS)
        try:
            stack.start_web(workers=2, threads=8)
            browser = Browser(stack.web_url, username=USERNAME, password=PASSWORD)
            peaks: list[float] = []
            for kind in ("large", "bomb"):
                url = f"{stack.web_url}/sandbox/{kind}?mb={MIB}"
                print(f"hostile: {RUNS_AT_ONCE} runs of {url}…", flush=True)
                ids = []
                for _ in range(RUNS_AT_ONCE):
                    status, run_id = browser.submit(url)
                    if run_id is None:
                        raise SystemExit(f"error: a submission answered HTTP {status}")
                    ids.append(str(run_id))
                # Queued first, then one worker start: its 8 processes take them together.
                worker = stack.start_worker("worker", concurrency=RUNS_AT_ONCE)
                rows = wait_done(postgres, ids)
                processes = children(worker.pid)
                peaks += [peak_rss_mb(pid) for pid in processes]
                results["main_process_peak_rss_mb"] = peak_rss_mb(worker.pid)
                stack.stop("worker")
                results[kind] = {
                    "runs": len(rows),
                    "truncated": sum(1 for row in rows if row[1]),
                    "kept_bytes_max": max(row[2] or 0 for row in rows),
                    "at_once": most_at_once(rows),
                }
            results["worker_processes"] = RUNS_AT_ONCE
            results["peak_rss_mb_max"] = max(peaks)
            results["peak_rss_mb_each"] = sorted(round(peak, 1) for peak in peaks)
        finally:
            stack.stop_all()
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
