"""Monitors under real faults: beat killed with -9 and started again while monitors are due,
a worker killed with -9 in the middle of a check, and the alert receiver down while alerts
are due. Short intervals (a tick every second, monitors every few seconds, backoff from
2 s) keep each under a minute; the figures are printed at the end of `make chaos`."""

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest

from tests.chaos.conftest import USERNAME, Postgres, report, wait_until
from tests.support.monitors import MonitorBatch, MonitorSpec, add_monitors
from tests.support.receiver import webhook_receiver
from tests.support.services import free_port
from tests.support.upstream import CountingUpstream

pytestmark = pytest.mark.chaos

TICK = {"MONITOR_TICK_INTERVAL": "1"}


@pytest.fixture(autouse=True)
def monitors_paused_after(postgres: Postgres) -> Iterator[None]:
    """The session's database outlives a test: its monitors are paused at the end, so that
    they load no later test's worker."""
    yield
    with postgres.connect() as conn:
        conn.execute("UPDATE monitors_monitor SET paused = true")


@dataclass(frozen=True)
class CheckRow:
    monitor: str  # its name
    planned: float  # epoch seconds
    started: float | None
    evaluated: bool
    passed: bool | None


def checks_of(postgres: Postgres, names: list[str]) -> dict[str, list[CheckRow]]:
    """Each monitor's checks, by planned time."""
    with postgres.connect() as conn:
        rows = conn.execute(
            "SELECT m.name, c.planned_at, c.started_at, c.evaluated_at IS NOT NULL, c.passed "
            "FROM monitors_check c JOIN monitors_monitor m ON m.id = c.monitor_id "
            "WHERE m.name = ANY(%s) ORDER BY m.name, c.planned_at",
            [names],
        ).fetchall()
    found: dict[str, list[CheckRow]] = {name: [] for name in names}
    for name, planned, started, evaluated, passed in rows:
        found[name].append(
            CheckRow(name, _epoch(planned), _epoch(started) if started else None, evaluated, passed)
        )
    return found


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def test_a_beat_killed_and_restarted_runs_a_missed_slot_once_and_doubles_none(
    make_stack: "object", upstream: CountingUpstream, postgres: Postgres
) -> None:
    monitors, interval, outage = 20, 4, 12  # three slots of each monitor missed
    stack = make_stack(**TICK)  # type: ignore[operator]
    stack.start_worker("worker", concurrency=8)
    prefix = f"/beat-{uuid.uuid4().hex}"
    first = time.time() + 2
    specs = [
        MonitorSpec(
            f"beat {index:02d} {prefix}",
            f"{upstream.url}{prefix}/{index}",
            first_at=first + index * interval / monitors,
        )
        for index in range(monitors)
    ]
    names = [spec.name for spec in specs]
    add_monitors(stack.env, MonitorBatch(username=USERNAME, interval=interval, monitors=specs))
    stack.start_beat()

    def each_checked(times: int, after: float = 0.0) -> bool:
        found = checks_of(postgres, names)
        return all(
            sum(1 for c in rows if c.evaluated and (c.started or 0) > after) >= times
            for rows in found.values()
        )

    wait_until(lambda: each_checked(2), "every monitor checked twice", timeout=40)
    killed = time.time()
    stack.kill("beat")
    time.sleep(outage)
    restarted = time.time()
    stack.start_beat()
    wait_until(lambda: each_checked(2, after=restarted), "checks after the restart", timeout=40)
    stack.stop("beat")
    time.sleep(1.5)  # the last tick's checks started
    wait_until(
        lambda: all(c.evaluated for rows in checks_of(postgres, names).values() for c in rows),
        "every check evaluated",
        timeout=20,
    )

    found = checks_of(postgres, names)
    late_lags = []
    for spec in specs:
        rows = found[spec.name]
        planned = [c.planned for c in rows]
        assert len(set(planned)) == len(planned), spec.name  # one check per slot
        # Each check's request was sent once: none doubled by two ticks or two deliveries.
        path = spec.url.removeprefix(upstream.url)
        assert upstream.count(path) == len(rows), (spec.name, upstream.count(path), len(rows))
        # The monitor keeps its phase: every slot a whole number of intervals after the first.
        for before, after in itertools.pairwise(planned):
            steps = (after - before) / interval
            assert steps >= 1 - 1e-3 and abs(steps - round(steps)) < 1e-3, (spec.name, steps)
        # The slots missed while beat was down: run once after the restart, not once each.
        late = [c for c in rows if c.planned <= restarted and (c.started or 0) >= restarted]
        assert len(late) == 1, (spec.name, late)
        late_lags.append(late[0].started - restarted)  # type: ignore[operator]
        # ... and the slots after it that beat missed were skipped, not run late.
        following = [c.planned for c in rows if c.planned > late[0].planned]
        assert following and following[0] - late[0].planned >= 2 * interval - 1e-3, spec.name
        assert not any(late[0].planned < c.planned <= restarted for c in rows), spec.name
        # Back on schedule: slots after the restart were checked too.
        assert any(c.planned > restarted for c in rows), spec.name
        assert all(c.passed for c in rows)
    total = sum(len(rows) for rows in found.values())
    report(
        f"beat kill -9 for {restarted - killed:.0f} s ({outage // interval} slots of "
        f"{interval} s) under "
        f"{monitors} monitors: {total} checks, missed slots run once after the restart "
        f"{len(late_lags)}/{monitors} (first {min(late_lags):.1f} s, last {max(late_lags):.1f} s "
        f"after it), caught up more than once 0, doubled 0"
    )


def test_a_worker_killed_during_a_check_settles_it_once(
    make_stack: "object", upstream: CountingUpstream, postgres: Postgres
) -> None:
    stack = make_stack(**TICK)  # type: ignore[operator]
    stack.start_worker("doomed", concurrency=2)
    path = f"/check-kill-{uuid.uuid4().hex}"
    name = f"killed check {path}"
    add_monitors(
        stack.env,
        MonitorBatch(
            username=USERNAME,
            interval=3600,  # one slot in this test: one result
            monitors=[MonitorSpec(name, f"{upstream.url}{path}?slow=6", first_at=time.time())],
        ),
    )
    stack.start_beat()
    upstream.wait_for(path, timeout=30)
    killed = time.monotonic()
    stack.kill("doomed")  # the check's request is in flight
    stack.start_worker("rescuer")
    wait_until(
        lambda: all(c.evaluated for c in checks_of(postgres, [name])[name]),
        "the check evaluated",
        timeout=60,
        every=0.3,
    )
    settled_in = time.monotonic() - killed
    time.sleep(3)  # more ticks and sweeps: nothing else comes of it

    (check,) = checks_of(postgres, [name])[name]
    with postgres.connect() as conn:
        attempts = conn.execute(
            "SELECT r.status, a.status, a.deliveries, a.response_status "
            "FROM monitors_check c JOIN monitors_monitor m ON m.id = c.monitor_id "
            "JOIN runs_run r ON r.id = c.run_id JOIN runs_attempt a ON a.run_id = r.id "
            "WHERE m.name = %s",
            [name],
        ).fetchall()
        monitor = conn.execute(
            "SELECT m.state, m.consecutive_successes, m.consecutive_failures, "
            "(SELECT count(*) FROM monitors_statechange s WHERE s.monitor_id = m.id) "
            "FROM monitors_monitor m WHERE m.name = %s",
            [name],
        ).fetchone()
    assert check.evaluated and check.passed
    # One run, one attempt: taken over by the new worker (a GET is sent again) and stored once.
    assert attempts == [("done", "done", 2, 200)], attempts
    assert upstream.count(path) == 2  # once cut by the kill, once answered
    # The state machine saw one result: one success, one change (unknown -> up).
    assert monitor == ("up", 1, 0, 1), monitor
    report(
        f"kill -9 worker during a check: settled once {settled_in:.0f} s after the kill, "
        f"request sent {upstream.count(path)}x (1 cut), results seen by the state machine 1"
    )


def test_alerts_wait_out_a_receiver_that_is_down(
    make_stack: "object", upstream: CountingUpstream, postgres: Postgres
) -> None:
    down_for, monitors = 30.0, 5
    stack = make_stack(  # type: ignore[operator]
        **TICK, ALERT_BACKOFF_BASE="2", ALERT_BACKOFF_CAP="8", ALERT_MAX_ATTEMPTS="12"
    )
    stack.start_worker("worker", concurrency=4)
    port = free_port()  # nothing listens there yet: the receiver is down
    prefix = f"/alert-{uuid.uuid4().hex}"
    specs = [
        MonitorSpec(f"alert {index} {prefix}", f"{upstream.url}{prefix}/{index}", time.time())
        for index in range(monitors)
    ]
    names = [spec.name for spec in specs]
    add_monitors(
        stack.env,
        MonitorBatch(
            username=USERNAME,
            interval=3600,
            monitors=specs,
            assertion="status in 500-599",  # the upstream answers 200: each goes down
            failures_to_down=1,
            webhook=f"http://127.0.0.1:{port}/hook",
        ),
    )
    down_since = time.monotonic()
    stack.start_beat()

    def deliveries() -> list[tuple[str, str, int, int | None]]:
        with postgres.connect() as conn:
            return [
                (str(row[0]), str(row[1]), int(row[2]), row[3])
                for row in conn.execute(
                    "SELECT m.name, d.status, d.attempts, d.response_status "
                    "FROM monitors_delivery d JOIN monitors_monitor m ON m.id = d.monitor_id "
                    "WHERE m.name = ANY(%s) ORDER BY m.name",
                    [names],
                ).fetchall()
            ]

    wait_until(
        lambda: len(deliveries()) == monitors and all(d[2] >= 2 for d in deliveries()),
        "every alert tried twice",
        timeout=30,
    )
    time.sleep(max(0.0, down_since + down_for - time.monotonic()))
    tries_while_down = [d[2] for d in deliveries()]
    assert all(d[1] == "pending" for d in deliveries())  # none given up, none lost
    with webhook_receiver(port) as receiver:
        back = time.monotonic()
        receiver.wait_for(monitors, timeout=30)
        delivered_in = time.monotonic() - back
        time.sleep(3)  # more ticks: nothing is sent twice
    headlines = sorted(json.loads(r.body)["headline"] for r in receiver.received)
    assert headlines == sorted(f"{name} is down" for name in names)  # each one once
    assert all(r.answered == 200 for r in receiver.received)
    final = deliveries()
    assert all(status == "sent" and code == 200 for _, status, _, code in final), final
    tries = [attempts for _, _, attempts, _ in final]
    # Backoff from 2 s doubling to 8 s: about 6 tries in 30 s, where a try per tick would
    # have made 30.
    assert all(3 <= count <= 9 for count in tries), tries
    report(
        f"alert receiver down {down_for:.0f} s (backoff 2 s doubling to 8 s): "
        f"{monitors} alerts, tries while down {min(tries_while_down)}-{max(tries_while_down)} "
        f"each, all delivered {delivered_in:.1f} s after it came back, each once, lost 0"
    )
