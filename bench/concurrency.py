"""Runs in flight: head-of-line blocking between teams, and the pipeline against an upstream
with the latency of a real API, beside its anchors, on private services.

    .venv/bin/python bench/concurrency.py [--runs 1000] [--json FILE]   (or `make bench`)

It starts its own PostgreSQL cluster and Redis (free ports, temporary folders), gunicorn,
Celery workers as `dashboard/processes.py` starts them (the threads pool) and the local
upstream (`bench/upstream.py`, whose `/sleep/<ms>/` paths answer that late). Then:

- head of line: a team submits 20 runs to an upstream that hangs 30 s, then another team
  submits single fast runs one after another; each one's submit → stored time (the form's
  POST to its result's commit, as PostgreSQL notes them), with the default settings
  (one worker, WORKER_CONCURRENCY runs in flight, RUN_TEAM_MAX_IN_FLIGHT per team);
- latency 100 ms: N requests to an upstream that answers in 100 ms: a thread-pooled raw
  loop (one `requests.Session` per thread, as many threads as the workers' runs in
  flight), newman (a Postman collection runs its requests one after another; a tenth of
  N), and the pipeline (N runs submitted through the run form by 8 clients, executed by 2
  workers, stored), from the first submission to the last stored result. All from one
  team, so the team's cap is set to the workers' runs in flight here.

A benchmark, not a test: it prints figures (and writes them as JSON with --json).
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import requests  # noqa: E402
from pipeline import newman, stored_span, submit_all, upstream_server, wait_stored  # noqa: E402

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
USERNAME, OTHER_USERNAME = "bench", "bench-other"
PASSWORD = "bench-horse-battery-staple"
HANGING_RUNS = 20
HANG_MS = 30_000
FAST_RUNS = 5
LATENCY_MS = 100
WORKERS = 2
IN_FLIGHT_PER_WORKER = 32


def say(line: str) -> None:
    print(line, flush=True)


def run_times(postgres: Postgres, run_id: uuid.UUID) -> tuple[str, float | None]:
    """The run's status, and its submit → stored time in ms once stored."""
    with postgres.connect() as conn:
        row = conn.execute(
            "SELECT status, extract(epoch FROM finished_at - created_at) * 1000 FROM runs_run "
            "WHERE id = %s",
            [run_id],
        ).fetchone()
    assert row is not None
    return str(row[0]), None if row[1] is None else float(row[1])


def team_in_flight(postgres: Postgres, ids: list[uuid.UUID]) -> tuple[int, int]:
    """Of these runs: how many are running, and how many are done."""
    with postgres.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'running'), count(*) FILTER (WHERE status ="
            " 'done') FROM runs_run WHERE id = ANY(%s)",
            [ids],
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def head_of_line(stack: Stack, postgres: Postgres, upstream: str) -> dict[str, Any]:
    stack.start_worker("worker")
    hanging_team = Browser(stack.web_url, username=USERNAME, password=PASSWORD)
    other_team = Browser(stack.web_url, username=OTHER_USERNAME, password=PASSWORD)
    hanging: list[uuid.UUID] = []
    for index in range(HANGING_RUNS):
        url = f"{upstream}/sleep/{HANG_MS}/hang/{index}"
        status, run_id = hanging_team.submit(url, timeout=HANG_MS / 1000 + 30)
        if run_id is None:
            raise SystemExit(f"error: a submission answered HTTP {status}")
        hanging.append(run_id)
    deadline = time.monotonic() + 30
    while team_in_flight(postgres, hanging)[0] == 0:
        if time.monotonic() > deadline:
            raise SystemExit("error: none of the hanging runs started within 30 s")
        time.sleep(0.1)
    times: list[float] = []
    most_running = 0
    for index in range(FAST_RUNS):
        status, run_id = other_team.submit(f"{upstream}/fast/{index}")
        if run_id is None:
            raise SystemExit(f"error: a submission answered HTTP {status}")
        deadline = time.monotonic() + HANG_MS / 1000 + 60
        while True:
            most_running = max(most_running, team_in_flight(postgres, hanging)[0])
            state, elapsed = run_times(postgres, run_id)
            if state == "done" and elapsed is not None:
                times.append(elapsed)
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"error: the fast run {run_id} was not stored in time")
            time.sleep(0.02)
    running, done = team_in_flight(postgres, hanging)
    say(f"  hanging runs: {running} running, {done} done while the other team's ran")
    wait_stored(postgres, hanging, timeout=3 * HANG_MS / 1000 + 60)
    stack.stop("worker")
    return {
        "hanging_runs": HANGING_RUNS,
        "hang_ms": HANG_MS,
        "fast_runs": FAST_RUNS,
        "p50_ms": statistics.median(times),
        "max_ms": max(times),
        "each_ms": [round(value, 1) for value in times],
        "hanging_running_most": most_running,
        "hanging_done_meanwhile": done,
    }


def raw_threads(urls: list[str], threads: int) -> dict[str, float]:
    """The raw loop, thread-pooled: one keep-alive session per thread."""
    local = threading.local()

    def get(url: str) -> int:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        response = session.get(url, headers={"Accept": "application/json"}, timeout=10)
        response.content  # noqa: B018
        return response.status_code

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(get, urls[:threads]))  # warm-up: a connection per thread
        started = time.perf_counter()
        statuses = list(pool.map(get, urls))
        seconds = time.perf_counter() - started
    if any(status != 200 for status in statuses):
        raise SystemExit("error: the upstream answered an error to the raw loop")
    return {"runs_per_s": len(urls) / seconds, "seconds": seconds, "threads": threads}


def pipeline_at_latency(stack: Stack, postgres: Postgres, urls: list[str]) -> dict[str, float]:
    for index in range(WORKERS):
        stack.start_worker(f"worker{index}", concurrency=IN_FLIGHT_PER_WORKER)
    submit_all(stack, [f"{url}?warm-up" for url in urls[: WORKERS * 8]])
    wall_start = time.time()
    ids = submit_all(stack, urls)
    wait_stored(postgres, ids, timeout=max(120, len(urls) / 2))
    span = stored_span(postgres, ids)
    seconds = span["finished"] - wall_start
    for index in range(WORKERS):
        stack.stop(f"worker{index}")
    return {"runs_per_s": len(urls) / seconds, "seconds": seconds, "ok": span["ok"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="N at 100 ms of latency")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()

    results: dict[str, Any] = {}
    folder = Path(tempfile.mkdtemp(prefix="bench-concurrency-"))
    with (
        private_postgres("bench", prefix="bench-pg-") as postgres,
        private_redis(LOGS, prefix="bench-redis-") as redis,
        upstream_server() as upstream,
    ):
        env = dashboard_env(
            deployed=True,
            database_url=postgres.url,
            broker_url=redis.url,
            queue="bench-concurrency",
            var_dir=str(folder / "var"),
            LOG_LEVEL="WARNING",
        )
        migrate_and_add_user(env, username=USERNAME, password=PASSWORD, team="Bench")
        migrate_and_add_user(env, username=OTHER_USERNAME, password=PASSWORD, team="Other")
        stack = Stack(env=env, name="concurrency", logs=LOGS)
        try:
            stack.start_web(workers=2, threads=8)
            say(f"head of line: {HANGING_RUNS} runs hanging {HANG_MS} ms, another team's runs…")
            results["head_of_line"] = head_of_line(stack, postgres, upstream)
            say(f"  submit → stored p50 {results['head_of_line']['p50_ms']:.0f} ms")
            in_flight = WORKERS * IN_FLIGHT_PER_WORKER
            stack.env = {**stack.env, "RUN_TEAM_MAX_IN_FLIGHT": str(in_flight)}  # the workers'
            urls = [f"{upstream}/sleep/{LATENCY_MS}/run/{index}" for index in range(args.runs)]
            say(f"latency {LATENCY_MS} ms: raw loop on {in_flight} threads, {args.runs} requests…")
            results["raw_threads"] = raw_threads(urls, in_flight)
            say(f"  {results['raw_threads']['runs_per_s']:.0f} requests/s")
            few = urls[: max(20, args.runs // 10)]
            say(f"latency {LATENCY_MS} ms: newman, {len(few)} requests…")
            results["newman"] = newman(few, folder)
            if results["newman"]:
                say(f"  {results['newman']['runs_per_s']:.1f} requests/s")
            say(f"latency {LATENCY_MS} ms: pipeline, {args.runs} runs, {WORKERS} workers…")
            results["pipeline"] = pipeline_at_latency(stack, postgres, urls)
            results["pipeline"].update(
                workers=WORKERS, in_flight=in_flight, latency_ms=LATENCY_MS, runs=args.runs
            )
            say(f"  {results['pipeline']['runs_per_s']:.1f} runs/s")
        finally:
            stack.stop_all()
    shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
