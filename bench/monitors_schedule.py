"""1,000 monitors at 1-minute intervals: schedule lag (planned → started) with beat and 2
workers, on private services.

    .venv/bin/python bench/monitors_schedule.py [--monitors 1000] [--seconds 180] [--json FILE]

It starts its own PostgreSQL cluster and Redis (free ports, temporary folders), the local
upstream (`bench/upstream.py`), 2 Celery workers as `dashboard/processes.py` starts them
(the threads pool, WORKER_CONCURRENCY each) and beat, all with the default settings (the
monitors' tick every MONITOR_TICK_INTERVAL). The monitors are made in the database at
once, each with its own path on the upstream and "status in 200-299", their first slots
spread at random over the first minute (a team's monitors are made at different times; the
form's jitter spreads those made together). After `--seconds`, beat stops; then, of the
slots planned in the window every tick had the time to claim:

- schedule lag: a check's start (the worker's claim) minus its planned slot, p50/p95/max;
- checks done (evaluated, their run stored) against the slots expected;
- doubles: two checks of one monitor for one slot, or less than an interval apart, or a
  check with more than one run.

Then one tick is profiled: the SQL statements it makes for 200 due monitors.
A benchmark, not a test: it prints figures (and writes them as JSON with --json).
"""

import argparse
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pipeline import percentile, upstream_server  # noqa: E402

from tests.support.monitors import MonitorBatch, MonitorSpec, add_monitors  # noqa: E402
from tests.support.services import (  # noqa: E402
    Postgres,
    Stack,
    dashboard_env,
    migrate_and_add_user,
    private_postgres,
    private_redis,
    wait_until,
)

LOGS = ROOT / "artifacts" / "bench"
USERNAME = "bench"
PASSWORD = "bench-horse-battery-staple"
INTERVAL = 60
WORKERS = 2
PROFILED = 200

_PROFILE_TICK = """
import json, time
from datetime import timedelta
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from apps.monitors import services
from apps.monitors.models import Monitor

due = list(Monitor.objects.values_list("pk", flat=True)[:COUNT])
Monitor.objects.update(next_check_at=timezone.now() + timedelta(hours=1))
Monitor.objects.filter(pk__in=due).update(next_check_at=timezone.now())
with CaptureQueriesContext(connection) as queries:
    started = time.perf_counter()
    counts = services.tick()
    seconds = time.perf_counter() - started
print(json.dumps({"due": len(due), "checks": counts["checks"], "statements": len(queries),
                  "ms": seconds * 1000}))
"""


def say(line: str) -> None:
    print(line, flush=True)


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def checks(postgres: Postgres) -> list[tuple[str, float, float | None, bool, int]]:
    """Every check: (monitor, planned, started, evaluated and its run done, runs of it)."""
    with postgres.connect() as conn:
        rows = conn.execute(
            "SELECT c.monitor_id::text, extract(epoch FROM c.planned_at), "
            "extract(epoch FROM c.started_at), "
            "c.evaluated_at IS NOT NULL AND r.status = 'done', "
            "(SELECT count(*) FROM monitors_check d WHERE d.run_id = c.run_id) "
            "FROM monitors_check c LEFT JOIN runs_run r ON r.id = c.run_id"
        ).fetchall()
    return [
        (str(m), float(p), None if s is None else float(s), bool(ok), int(n))
        for m, p, s, ok, n in rows
    ]


def measure(postgres: Postgres, firsts: list[float], window: tuple[float, float]) -> dict[str, Any]:
    begin, end = window
    expected = sum(
        1
        for first in firsts
        for slot in range(int((end - first) // INTERVAL) + 2)
        if begin <= first + slot * INTERVAL <= end
    )
    found = checks(postgres)
    inside = [row for row in found if begin <= row[1] <= end]
    started = [row for row in inside if row[2] is not None]
    lags = sorted(row[2] - row[1] for row in started)  # type: ignore[operator]
    by_monitor: dict[str, list[float]] = {}
    for row in found:
        by_monitor.setdefault(row[0], []).append(row[1])
    doubles = sum(1 for row in found if row[4] > 1)
    for slots in by_monitor.values():
        slots.sort()
        doubles += sum(1 for a, b in itertools.pairwise(slots) if b - a < INTERVAL - 1)
    lags_by_minute: dict[int, list[float]] = {}
    for row in started:
        lags_by_minute.setdefault(int((row[1] - begin) // 60), []).append(row[2] - row[1])  # type: ignore[operator]
    by_minute = [percentile(lags_by_minute[minute], 0.95) for minute in sorted(lags_by_minute)]
    return {
        "lag_p95_by_minute_s": [round(value, 3) for value in by_minute],
        "expected": expected,
        "checks": len(inside),
        "started": len(started),
        "done": sum(1 for row in inside if row[3]),
        "doubles": doubles,
        "lag_p50_s": statistics.median(lags) if lags else None,
        "lag_p95_s": percentile(lags, 0.95) if lags else None,
        "lag_max_s": lags[-1] if lags else None,
        "lag_over_2s": sum(1 for lag in lags if lag > 2),
    }


def profile_tick(env: dict[str, str]) -> dict[str, Any]:
    code = _PROFILE_TICK.replace("COUNT", str(PROFILED))
    done = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env={**env, "DEBUG": "1"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if done.returncode != 0:
        say(f"  the tick was not profiled: {done.stderr[-500:]}")
        return {}
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=180, help="how long beat runs")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-monitors-"))
    results: dict[str, Any] = {"monitors": args.monitors, "interval_s": INTERVAL}
    with (
        private_postgres("bench", prefix="bench-pg-") as postgres,
        private_redis(LOGS, prefix="bench-redis-") as redis,
        upstream_server() as upstream,
    ):
        env = dashboard_env(
            deployed=True,
            database_url=postgres.url,
            broker_url=redis.url,
            queue="bench-monitors",
            var_dir=str(folder / "var"),
            LOG_LEVEL="WARNING",
        )
        migrate_and_add_user(env, username=USERNAME, password=PASSWORD, team="Bench")
        stack = Stack(env=env, name="monitors", logs=LOGS)
        try:
            for index in range(WORKERS):
                stack.start_worker(f"worker{index}")
            # Beat runs before the monitors exist (as it does in production); their first
            # slots come after they are made and beat has ticked a few times.
            stack.start_beat()
            start = time.time() + 30
            chance = random.Random(20)  # noqa: S311 (a spread, not a secret)
            firsts = [start + chance.uniform(0, INTERVAL) for _ in range(args.monitors)]
            specs = [
                MonitorSpec(f"monitor {index}", f"{upstream}/monitor/{index}", first)
                for index, first in enumerate(firsts)
            ]
            say(f"{args.monitors} monitors every {INTERVAL} s, {WORKERS} workers, beat…")
            add_monitors(env, MonitorBatch(username=USERNAME, interval=INTERVAL, monitors=specs))
            if time.time() > start - 10:
                raise SystemExit("error: the monitors took more than 20 s to make")
            loads = []
            while time.time() < start + args.seconds:
                time.sleep(10)
                loads.append(os.getloadavg()[0])
                say(f"  {time.time() - start:.0f} s, load {load()}")
            stopped = time.time()
            stack.stop("beat")
            # Every slot up to a tick before beat stopped had a tick to claim it.
            tick = float(env.get("MONITOR_TICK_INTERVAL", "5"))
            window = (start, stopped - tick - 1)
            in_window = lambda: measure(postgres, firsts, window)  # noqa: E731
            wait_until(lambda: in_window()["done"] >= in_window()["started"], "checks stored",
                       timeout=60)  # fmt: skip
            results.update(in_window())
            results["seconds"] = round(stopped - start, 1)
            results["load_1min_max"] = max(loads) if loads else None
            for index in range(WORKERS):
                stack.stop(f"worker{index}")
            results["tick"] = profile_tick(env)
        finally:
            stack.stop_all()
    shutil.rmtree(folder, ignore_errors=True)
    say(json.dumps(results, indent=2))
    if results.get("lag_p95_s") is not None:
        say(
            f"schedule lag p50 {results['lag_p50_s']:.2f} s, p95 {results['lag_p95_s']:.2f} s, "
            f"max {results['lag_max_s']:.2f} s; checks done {results['done']} of "
            f"{results['expected']} expected; doubles {results['doubles']}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
