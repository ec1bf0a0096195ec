"""Every submitted run ends in a stored, explained state exactly once, under real faults:
a worker killed with -9 mid-request, Redis stopped during submissions, PostgreSQL stopped
under a running worker, and a load of 1,000 runs from 20 clients."""

import threading
import time
import uuid

import pytest

from tests.chaos.conftest import (
    Browser,
    Postgres,
    Redis,
    Submissions,
    count,
    report,
    submit_concurrently,
    wait_until,
    wait_until_settled,
)
from tests.support.upstream import CountingUpstream

pytestmark = pytest.mark.chaos


def test_it_survives_a_worker_killed_in_the_middle_of_a_request(
    make_stack: "object", upstream: CountingUpstream, postgres: Postgres
) -> None:
    stack = make_stack()  # type: ignore[operator]
    stack.start_web()
    stack.start_worker("doomed", concurrency=2)
    stack.start_beat()
    browser = Browser(stack.web_url)
    get_path, post_path = f"/kill/get-{uuid.uuid4().hex}", f"/kill/post-{uuid.uuid4().hex}"
    statuses = []
    runs: dict[uuid.UUID, str] = {}
    for method, path in (("GET", get_path), ("POST", post_path)):
        status, run_id = browser.submit(f"{upstream.url}{path}?slow=8", method)
        statuses.append(status)
        assert run_id is not None, status
        runs[run_id] = path
    get_id, post_id = list(runs)
    upstream.wait_for(get_path)
    upstream.wait_for(post_path)
    stack.kill("doomed")  # both requests are in flight
    stack.start_worker("rescuer")
    wait_until_settled(postgres, list(runs), timeout=60)

    counts = count(postgres, upstream, runs)
    with postgres.connect() as conn:
        rows = conn.execute(
            "SELECT r.id, r.status, a.status, a.deliveries, a.response_status, "
            "a.failure_message FROM runs_run r JOIN runs_attempt a ON a.run_id = r.id "
            "WHERE r.id = ANY(%s)",
            [list(runs)],
        ).fetchall()
    by_run = {row[0]: row[1:] for row in rows}
    assert len(rows) == 2, rows  # one attempt each: nothing stored twice
    assert by_run[get_id][:4] == ("done", "done", 2, 200)
    assert by_run[post_id][:2] == ("interrupted", "interrupted")
    assert "may or may not have reached the server" in by_run[post_id][4]
    # The GET was sent again by the new worker (once cut by the kill, once stored); the POST
    # was never sent again.
    assert upstream.count(get_path) == 2
    assert upstream.count(post_path) == 1
    assert statuses == [302, 302]
    assert counts.lost == 0 and counts.duplicated == 0
    assert (counts.done, counts.interrupted) == (1, 1)
    report(
        counts.line(
            "kill -9 worker mid-request",
            f"GET sent {upstream.count(get_path)}x (1 cut by the kill) and stored once, "
            f"POST sent {upstream.count(post_path)}x and not again",
        )
    )


def test_it_survives_redis_stopped_during_a_burst_of_submissions(
    make_stack: "object", upstream: CountingUpstream, postgres: Postgres, redis_server: Redis
) -> None:
    stack = make_stack()  # type: ignore[operator]
    stack.start_web()
    stack.start_worker("worker", concurrency=2)
    stack.start_beat()
    outage: dict[str, float] = {}
    submissions = Submissions()

    def outage_of_redis() -> None:
        wait_until(lambda: len(submissions.statuses) >= 12, "submissions under way", timeout=120)
        outage["stopped"] = time.monotonic()
        redis_server.stop()
        time.sleep(3)
        redis_server.start()
        outage["started"] = time.monotonic()

    fault = threading.Thread(target=outage_of_redis)
    fault.start()
    submit_concurrently(
        stack.web_url, upstream, clients=6, per_client=12, prefix=f"redis-{uuid.uuid4().hex}",
        pause=0.4, result=submissions,
    )  # fmt: skip
    fault.join()
    during = sum(1 for t in submissions.times if outage["stopped"] <= t <= outage["started"])
    wait_until_settled(postgres, list(submissions.runs), timeout=60)
    counts = count(postgres, upstream, submissions.runs)
    assert submissions.server_errors == 0, submissions.statuses
    assert len(submissions.runs) == len(submissions.statuses) == 72
    assert during >= 10  # runs were submitted while Redis was down, and stored
    assert "stays queued: the broker could not be reached" in stack.log("web")
    assert counts.lost == 0 and counts.duplicated == 0
    assert counts.done == counts.submitted
    report(
        counts.line(
            "Redis stopped for 3 s during 72 submissions",
            f"{during} submitted while it was down, 5xx {submissions.server_errors}",
        )
    )


def test_it_survives_postgresql_stopped_under_a_running_worker(
    make_stack: "object", upstream: CountingUpstream, postgres: Postgres
) -> None:
    # An outage of the database must not look like a dead worker: heartbeats wait it out.
    stack = make_stack(RUN_STALE_AFTER="60")  # type: ignore[operator]
    stack.start_web()
    stack.start_worker("worker", concurrency=2)
    stack.start_beat()
    browser = Browser(stack.web_url)
    runs: dict[uuid.UUID, str] = {}
    for index in range(10):
        path = f"/pg-{uuid.uuid4().hex}/{index}"
        method = "POST" if index % 5 == 4 else "GET"
        status, run_id = browser.submit(f"{upstream.url}{path}?slow=2", method)
        assert status == 302 and run_id is not None
        runs[run_id] = path
    wait_until(lambda: sum(upstream.received.values()) >= 1, "a request in flight")
    postgres.stop()
    time.sleep(5)
    postgres.start()
    wait_until_settled(postgres, list(runs), timeout=90)
    counts = count(postgres, upstream, runs)
    assert counts.lost == 0 and counts.duplicated == 0 and counts.interrupted == 0
    assert counts.done == 10
    assert all(upstream.count(path) == 1 for path in runs.values())
    assert "database unavailable" in stack.log("worker")
    report(counts.line("PostgreSQL stopped for 5 s under a running worker"))


def test_it_runs_1000_submissions_from_20_clients_on_2_workers(
    make_stack: "object", upstream: CountingUpstream, postgres: Postgres
) -> None:
    stack = make_stack()  # type: ignore[operator]
    stack.start_web()
    # Threads pool: each worker holds 16 runs in flight (PostgreSQL's 100 connections hold
    # 2 x 17 of them beside the web's).
    stack.start_worker("worker1", concurrency=16)
    stack.start_worker("worker2", concurrency=16)
    stack.start_beat()
    started = time.monotonic()
    submissions = submit_concurrently(
        stack.web_url, upstream, clients=20, per_client=50, prefix=f"load-{uuid.uuid4().hex}",
        method_for=lambda client, index: "POST" if index % 10 == 9 else "GET",
    )  # fmt: skip
    submitted_in = time.monotonic() - started
    wait_until_settled(postgres, list(submissions.runs), timeout=240)
    finished_in = time.monotonic() - started
    counts = count(postgres, upstream, submissions.runs)
    assert submissions.server_errors == 0
    assert len(submissions.runs) == 1000
    assert counts.done == 1000 and counts.lost == 0 and counts.duplicated == 0
    assert all(upstream.count(path) == 1 for path in submissions.runs.values())
    report(
        counts.line(
            "load: 1,000 runs, 20 clients, 2 workers",
            f"5xx {submissions.server_errors}, delivered more than once {counts.redelivered}, "
            f"submitted in {submitted_in:.0f} s, all done in {finished_in:.0f} s",
        )
    )
