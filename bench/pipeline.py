"""The whole pipeline's throughput and latency, beside its anchors, on private services.

    .venv/bin/python bench/pipeline.py [--runs 2000] [--json FILE]   (or `make bench`)

It starts its own PostgreSQL cluster and Redis (free ports, temporary folders), gunicorn,
2 Celery workers (the threads pool, IN_FLIGHT_PER_WORKER runs in flight each, all of them
open to the bench's one team), and a fast
keep-alive upstream (`bench/upstream.py`,
a process of its own). Then, on the same N requests to that upstream:

- raw loop: one `requests.Session` GETting them one after another: the ceiling for a
  Python client here;
- newman: the same requests as a Postman collection (`bench/node_modules`, `npm ci`);
- pipeline: the requests submitted through the run form (as a browser does, 8 clients),
  each published to Redis, executed by a worker, diagnosed and stored in PostgreSQL.
  Runs/s from the first submission to the last stored result. Two parts of it alone as
  well: submissions with no worker running, then the queue drained by the workers;
- pipeline, bulk: the same requests saved as one collection and submitted by one call of
  the JSON API (`POST /api/v1/collections/run`: one transaction, bulk inserts), as newman
  runs its collection; runs/s from that call to the last stored result.

Latency: single runs one after another, from the form's POST to the commit of the stored
result (a PostgreSQL trigger notifies it), p50 and p95; the overhead is that minus the
upstream's own round trip (the raw loop's p50). And in Chromium (Playwright): from the click
on "Send request" to the result shown on the run's page.

A benchmark, not a test: it prints figures (and writes them as JSON with --json).
"""

import argparse
import contextlib
import json
import operator
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

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
NEWMAN = ROOT / "bench" / "node_modules" / ".bin" / "newman"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
USERNAME = "bench"
PASSWORD = "bench-horse-battery-staple"
TEAM = "Bench"
CLIENTS = 8
DONE_TRIGGER = """
CREATE OR REPLACE FUNCTION bench_notify_done() RETURNS trigger AS $$
BEGIN PERFORM pg_notify('bench_run_done', NEW.id::text); RETURN NEW; END
$$ LANGUAGE plpgsql;
CREATE TRIGGER bench_run_done AFTER UPDATE OF status ON runs_run FOR EACH ROW
WHEN (NEW.status = 'done' AND OLD.status IS DISTINCT FROM 'done')
EXECUTE FUNCTION bench_notify_done();
"""


def say(line: str) -> None:
    print(line, flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@contextlib.contextmanager
def upstream_server() -> Iterator[str]:
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, str(ROOT / "bench" / "upstream.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        yield f"http://127.0.0.1:{int(line.split()[-1])}"
    finally:
        process.terminate()
        process.wait(timeout=10)


# Anchors --------------------------------------------------------------------------------


def raw_loop(urls: list[str]) -> dict[str, float]:
    """One requests.Session (keep-alive), one request after another."""
    session = requests.Session()
    headers = {"Accept": "application/json"}
    for url in urls[:50]:
        session.get(url, headers=headers, timeout=10).content  # noqa: B018 (warm-up)
    times = []
    started = time.perf_counter()
    for url in urls:
        before = time.perf_counter()
        response = session.get(url, headers=headers, timeout=10)
        response.content  # noqa: B018
        if response.status_code != 200:
            raise SystemExit(f"error: the upstream answered {response.status_code}")
        times.append(time.perf_counter() - before)
    seconds = time.perf_counter() - started
    return {
        "runs_per_s": len(urls) / seconds,
        "seconds": seconds,
        "p50_ms": statistics.median(times) * 1000,
    }


def newman(urls: list[str], folder: Path) -> dict[str, float] | None:
    """The same requests as a Postman collection, run by newman; None if not installed."""
    if not NEWMAN.exists():
        say(f"newman is not installed at {NEWMAN} (npm ci --prefix bench); skipped")
        return None
    collection = {
        "info": {
            "name": "bench",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
        },
        "item": [
            {
                "name": url.rsplit("/", 2)[-1],
                "request": {
                    "method": "GET",
                    "header": [{"key": "Accept", "value": "application/json"}],
                    "url": url,
                },
            }
            for url in urls
        ],
    }
    path = folder / "collection.json"
    report = folder / "newman-report.json"
    path.write_text(json.dumps(collection))
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603
        [str(NEWMAN), "run", str(path), "--reporters", "json", "--reporter-json-export",
         str(report), "--timeout-request", "10000"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        say(f"newman failed ({done.returncode}): {done.stderr[-500:]}")
        return None
    run = json.loads(report.read_text())["run"]
    own = (run["timings"]["completed"] - run["timings"]["started"]) / 1000
    failed = len(run.get("failures", []))
    return {
        "runs_per_s": len(urls) / own,
        "seconds": own,
        "wall_runs_per_s": len(urls) / wall,
        "failures": failed,
    }


# The pipeline ---------------------------------------------------------------------------


def submit_all(stack: Stack, urls: list[str]) -> list[uuid.UUID]:
    """Submit every URL through the run form from CLIENTS signed-in tabs."""
    first = Browser(stack.web_url, username=USERNAME, password=PASSWORD)
    queue = iter(urls)
    lock = threading.Lock()
    ids: list[uuid.UUID] = []
    errors: list[str] = []

    def client() -> None:
        browser = Browser(stack.web_url, username=USERNAME, password=PASSWORD, like=first)
        while True:
            with lock:
                url = next(queue, None)
            if url is None:
                return
            status, run_id = browser.submit(url)
            with lock:
                if run_id is None:
                    errors.append(str(status))
                else:
                    ids.append(run_id)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"error: {len(errors)} submissions failed, e.g. HTTP {errors[0]}")
    return ids


def wait_stored(postgres: Postgres, ids: list[uuid.UUID], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with postgres.connect() as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM runs_run WHERE id = ANY(%s) AND status = 'done'", [ids]
            ).fetchone()
            if row and row[0] == len(ids):
                return
            if time.monotonic() > deadline:
                stored = row[0] if row else 0
                raise SystemExit(f"error: {len(ids) - stored} runs not stored in {timeout} s")
            time.sleep(0.2)


def stored_span(postgres: Postgres, ids: list[uuid.UUID]) -> dict[str, float]:
    with postgres.connect() as conn:
        row = conn.execute(
            "SELECT extract(epoch FROM min(r.created_at)), extract(epoch FROM max(r.finished_at)),"
            " extract(epoch FROM min(a.started_at)), count(*) FILTER (WHERE r.response_status ="
            " 200) FROM runs_run r JOIN runs_attempt a ON a.run_id = r.id WHERE r.id = ANY(%s)",
            [ids],
        ).fetchone()
    assert row is not None
    return {"created": float(row[0]), "finished": float(row[1]), "started": float(row[2]),
            "ok": int(row[3])}  # fmt: skip


WORKERS = ("worker1", "worker2")
IN_FLIGHT_PER_WORKER = 32


def start_workers(stack: Stack) -> None:
    for name in WORKERS:
        stack.start_worker(name)


def pipeline(stack: Stack, postgres: Postgres, urls: list[str]) -> dict[str, float]:
    n = len(urls)
    say(f"pipeline: submitting {n} runs with the workers stopped…")
    for name in WORKERS:
        stack.stop(name)
    started = time.perf_counter()
    queued_ids = submit_all(stack, [f"{url}?queued" for url in urls])
    submit_seconds = time.perf_counter() - started
    say("pipeline: draining the queue with the workers…")
    start_workers(stack)
    wait_stored(postgres, queued_ids, timeout=max(120, n / 2))
    drained = stored_span(postgres, queued_ids)
    drain_seconds = drained["finished"] - drained["started"]
    say(f"pipeline: {n} runs end to end…")
    wall_start = time.time()
    ids = submit_all(stack, urls)
    wait_stored(postgres, ids, timeout=max(120, n / 2))
    span = stored_span(postgres, ids)
    seconds = span["finished"] - wall_start
    return {
        "runs_per_s": n / seconds,
        "seconds": seconds,
        "ok": span["ok"] + drained["ok"],
        "runs": 2 * n,
        "submit_runs_per_s": n / submit_seconds,
        "drain_runs_per_s": n / drain_seconds,
    }


# A collection of the URLs (one saved request each) and an API token for the bench user;
# prints the token. The URLs come in BENCH_URLS, one a line.
BULK_SETUP = """
import os
from datetime import timedelta
from django.contrib.auth.models import User
from apps.accounts.models import Team
from apps.api.services import create_token
from apps.library.models import Collection, SavedRequest
user = User.objects.get(username=os.environ["BENCH_USER"])
team = Team.objects.get(name=os.environ["BENCH_TEAM"])
collection = Collection.objects.create(team=team, name="bench bulk", created_by=user)
SavedRequest.objects.bulk_create(
    SavedRequest(team=team, collection=collection, name=f"run {i}", position=i, method="GET",
                 url=url, created_by=user)
    for i, url in enumerate(os.environ["BENCH_URLS"].split())
)
print(create_token(user=user, team=team, name="bench", lifetime=timedelta(hours=2))[1])
"""


def pipeline_bulk(stack: Stack, postgres: Postgres, urls: list[str]) -> dict[str, float]:
    """The URLs as one collection, submitted by one API call; runs/s to the last stored."""
    n = len(urls)
    say(f"pipeline, bulk: {n} runs as one collection run through the API…")
    setup = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "-c", BULK_SETUP],
        cwd=ROOT,
        env={**stack.env, "BENCH_URLS": "\n".join(f"{url}?bulk" for url in urls),
             "BENCH_USER": USERNAME, "BENCH_TEAM": TEAM},
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    token = setup.stdout.strip().splitlines()[-1]
    wall_start = time.time()
    answer = requests.post(
        f"{stack.web_url}/api/v1/collections/run",
        json={"collection": "bench bulk"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=600,
    )
    submit_seconds = time.time() - wall_start
    if answer.status_code != 201:
        raise SystemExit(f"error: the collection run answered HTTP {answer.status_code}")
    ids = [uuid.UUID(run["id"]) for run in answer.json()["runs"]]
    wait_stored(postgres, ids, timeout=max(120, n / 2))
    span = stored_span(postgres, ids)
    seconds = span["finished"] - wall_start
    return {
        "runs_per_s": n / seconds,
        "seconds": seconds,
        "ok": span["ok"],
        "runs": n,
        "submit_seconds": submit_seconds,
        "submit_runs_per_s": n / submit_seconds,
    }


def latency(
    stack: Stack, postgres: Postgres, upstream: str, count: int, round_trip_ms: float
) -> dict[str, float]:
    """Single runs one after another: the form's POST to the stored result's commit."""
    with postgres.connect() as conn:
        conn.execute(DONE_TRIGGER)
    seen: dict[str, float] = {}
    arrived = threading.Condition()
    listener = postgres.connect()
    listener.execute("LISTEN bench_run_done")
    stop = threading.Event()

    def listen() -> None:
        while not stop.is_set():
            for note in listener.notifies(timeout=0.5):
                with arrived:
                    seen[note.payload] = time.perf_counter()
                    arrived.notify_all()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    browser = Browser(stack.web_url, username=USERNAME, password=PASSWORD)
    times: list[float] = []
    try:
        for index in range(count + 5):
            before = time.perf_counter()
            status, run_id = browser.submit(f"{upstream}/latency/{index}")
            if run_id is None:
                raise SystemExit(f"error: a submission answered HTTP {status}")
            with arrived:
                stored = partial(operator.contains, seen, str(run_id))
                if not arrived.wait_for(stored, timeout=30):
                    raise SystemExit(f"error: run {run_id} not stored within 30 s")
                after = seen[str(run_id)]
            if index >= 5:  # the first ones warm up each worker process
                times.append((after - before) * 1000)
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()
        with postgres.connect() as conn:
            conn.execute("DROP TRIGGER IF EXISTS bench_run_done ON runs_run")
    overhead = [max(0.0, value - round_trip_ms) for value in times]
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": percentile(times, 0.95),
        "overhead_p50_ms": statistics.median(overhead),
        "overhead_p95_ms": percentile(overhead, 0.95),
        "upstream_ms": round_trip_ms,
        "samples": len(times),
    }


def browser_latency(stack: Stack, upstream: str, count: int) -> dict[str, float] | None:
    """In Chromium: from the click on "Send request" to the result shown on the run page."""
    if not Path(CHROMIUM).exists():
        say(f"Chromium is not installed at {CHROMIUM}; the browser latency is skipped")
        return None
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"]  # fmt: skip
    times: list[float] = []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        page = chromium.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{stack.web_url}/accounts/login/")
        page.get_by_label("Username").fill(USERNAME)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{stack.web_url}/")
        for index in range(count + 2):
            page.goto(f"{stack.web_url}/runs/new/")
            page.get_by_label("URL").fill(f"{upstream}/browser/{index}")
            button = page.get_by_role("button", name="Send request")
            button.wait_for()
            before = time.perf_counter()
            button.click()
            page.wait_for_selector('#run-result[data-status="done"] .status-code')
            if index >= 2:
                times.append((time.perf_counter() - before) * 1000)
        chromium.close()
    return {
        "p50_ms": statistics.median(times),
        "p95_ms": percentile(times, 0.95),
        "samples": len(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="N, the requests of each side")
    parser.add_argument("--latency-runs", type=int, default=100, help="single runs timed")
    parser.add_argument("--browser-runs", type=int, default=15, help="runs timed in Chromium")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()

    results: dict[str, Any] = {"runs": args.runs}
    folder = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    with (
        private_postgres("bench", prefix="bench-pg-") as postgres,
        private_redis(LOGS, prefix="bench-redis-") as redis,
        upstream_server() as upstream,
    ):
        env = dashboard_env(
            deployed=True,
            database_url=postgres.url,
            broker_url=redis.url,
            queue="bench",
            var_dir=str(folder / "var"),
            LOG_LEVEL="WARNING",
            WORKER_CONCURRENCY=str(IN_FLIGHT_PER_WORKER),
            # The bench's one team may hold every run the workers have in flight (as in
            # bench/concurrency.py): a collection's runs all arrive at once.
            RUN_TEAM_MAX_IN_FLIGHT=str(len(WORKERS) * IN_FLIGHT_PER_WORKER),
        )
        migrate_and_add_user(env, username=USERNAME, password=PASSWORD, team=TEAM)
        results["versions"] = {"postgresql": postgres.version(), "redis": redis.version()}
        stack = Stack(env=env, name="pipeline", logs=LOGS)
        try:
            stack.start_web(workers=2, threads=4)
            start_workers(stack)
            urls = [f"{upstream}/run/{index}" for index in range(args.runs)]
            say(f"raw loop: {args.runs} requests…")
            results["raw"] = raw_loop(urls)
            say(f"  {results['raw']['runs_per_s']:.0f} requests/s")
            say(f"newman: {args.runs} requests…")
            results["newman"] = newman(urls, folder)
            if results["newman"]:
                say(f"  {results['newman']['runs_per_s']:.0f} requests/s")
            results["pipeline"] = pipeline(stack, postgres, urls)
            say(f"  {results['pipeline']['runs_per_s']:.1f} runs/s")
            results["pipeline_bulk"] = pipeline_bulk(stack, postgres, urls)
            say(f"  {results['pipeline_bulk']['runs_per_s']:.1f} runs/s")
            say(f"latency: {args.latency_runs} single runs…")
            results["latency"] = latency(
                stack, postgres, upstream, args.latency_runs, results["raw"]["p50_ms"]
            )
            say(f"  overhead p50 {results['latency']['overhead_p50_ms']:.1f} ms")
            say(f"browser: {args.browser_runs} runs in Chromium…")
            results["browser"] = browser_latency(stack, upstream, args.browser_runs)
            if results["browser"]:
                say(f"  p50 {results['browser']['p50_ms']:.0f} ms")
        finally:
            stack.stop_all()
    shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
