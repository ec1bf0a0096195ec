"""Real faults on real services: the chaos tests start their own PostgreSQL cluster and their
own Redis (on free ports, in temporary folders), so that stopping them disturbs nothing
else on the machine; a web server (gunicorn), Celery workers and beat against them; and a
local upstream that counts what was really sent. Everything is stopped at the end.

Counts (submitted, done, interrupted, lost, duplicated) are printed at the end of the run.
"""

import contextlib
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest
import requests

from tests.support import services
from tests.support.services import (
    ROOT,
    Postgres,
    Redis,
    ServiceMissing,
    Stack,
    dashboard_env,
    migrate_and_add_user,
    private_postgres,
    private_redis,
    wait_until,
)
from tests.support.upstream import CountingUpstream, counting_upstream

__all__ = ["Postgres", "Redis", "Stack", "wait_until"]

LOGS = ROOT / "artifacts" / "chaos"
USERNAME = "chaos"
PASSWORD = "chaos-horse-battery-staple"
SUMMARIES: list[str] = []

# Short intervals, so that each fault is detected and repaired in seconds.
FAST_RECOVERY = {
    "RUN_HEARTBEAT_INTERVAL": "1",
    "RUN_STALE_AFTER": "5",
    "WORKER_HEARTBEAT_INTERVAL": "1",
    "WORKER_GONE_AFTER": "5",
    "SWEEP_INTERVAL": "1",
    "SWEEP_QUEUED_AFTER": "2",
    "SWEEP_REPUBLISH_AFTER": "8",
    "DB_RETRY_SECONDS": "30",
    "RUN_SOFT_TIME_LIMIT": "40",
    "RUN_HARD_TIME_LIMIT": "50",
}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SUMMARIES:
        terminalreporter.section("chaos: faults survived")
        for line in SUMMARIES:
            terminalreporter.write_line(line)


def report(line: str) -> None:
    SUMMARIES.append(line)
    print(line, flush=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    try:
        with private_postgres("chaos") as server:
            yield server
    except ServiceMissing as missing:
        pytest.skip(f"the chaos tests: {missing}")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    try:
        with private_redis(LOGS) as server:
            yield server
    except ServiceMissing as missing:
        pytest.skip(f"the chaos tests: {missing}")


@pytest.fixture(scope="session")
def base_env(postgres: Postgres, redis_server: Redis) -> Iterator[dict[str, str]]:
    """The environment of every process: our PostgreSQL and Redis, the database migrated and
    a user who can sign in."""
    LOGS.mkdir(parents=True, exist_ok=True)
    var_dir = tempfile.mkdtemp(prefix="chaos-var-")
    env = dashboard_env(
        database_url=postgres.url, broker_url=redis_server.url, queue="chaos", var_dir=var_dir
    )
    migrate_and_add_user(env, username=USERNAME, password=PASSWORD, team="Chaos")
    yield env
    shutil.rmtree(var_dir, ignore_errors=True)


# The dashboard's processes -----------------------------------------------------------------


@pytest.fixture
def make_stack(
    base_env: dict[str, str],
    redis_server: Redis,
    postgres: Postgres,
    request: pytest.FixtureRequest,
) -> Iterator["object"]:
    stacks: list[Stack] = []

    def make(**env: str) -> Stack:
        if redis_server.process is None:
            redis_server.start()
        redis_server.flush()  # no message of an earlier test
        stack = Stack(env={**base_env, **FAST_RECOVERY, **env}, name=request.node.name, logs=LOGS)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop_all()
    # Left as found: both services running for the next test (stopped at the session's end).
    if redis_server.process is None:
        redis_server.start()
    try:
        postgres.connect().close()
    except psycopg.OperationalError:
        postgres.start()


@pytest.fixture
def upstream() -> Iterator[CountingUpstream]:
    with counting_upstream() as server:
        yield server


# Submitting over HTTP, as a browser does ---------------------------------------------------


class Browser(services.Browser):
    """A signed-in session of the chaos user (another tab of it when made `like` one)."""

    def __init__(self, base_url: str, *, like: "Browser | None" = None) -> None:
        super().__init__(base_url, username=USERNAME, password=PASSWORD, like=like)


@dataclass
class Submissions:
    statuses: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # time.monotonic() of each answer
    runs: dict[uuid.UUID, str] = field(default_factory=dict)  # run id -> upstream path
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def server_errors(self) -> int:
        return sum(1 for status in self.statuses if status >= 500)


def submit_concurrently(
    base_url: str, upstream: CountingUpstream, *, clients: int, per_client: int, prefix: str,
    pause: float = 0.0, method_for: "object" = None, result: Submissions | None = None,
) -> Submissions:  # fmt: skip
    """`clients` threads, each signed in, each submitting `per_client` runs (a unique
    upstream path each), `pause` seconds apart: tabs of one signed-in user."""
    result = result if result is not None else Submissions()
    first = Browser(base_url)  # one sign-in (password hashing is slow on purpose)
    errors: list[BaseException] = []

    def client(number: int) -> None:
        try:
            browser = Browser(base_url, like=first)
            for index in range(per_client):
                path = f"/{prefix}/{number}-{index}"
                method = method_for(number, index) if method_for else "GET"  # type: ignore[operator]
                try:
                    status, run_id = browser.submit(f"{upstream.url}{path}", method)
                except requests.RequestException:
                    status, run_id = 599, None  # no answer at all counts as a server error
                with result.lock:
                    result.statuses.append(status)
                    result.times.append(time.monotonic())
                    if run_id is not None:
                        result.runs[run_id] = path
                if pause:
                    time.sleep(pause)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return result


# Counting what was stored ------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    submitted: int
    done: int
    interrupted: int
    lost: int
    duplicated: int
    redelivered: int

    def line(self, fault: str, extra: str = "") -> str:
        return (
            f"{fault}: submitted {self.submitted}, done {self.done}, "
            f"interrupted {self.interrupted}, lost {self.lost}, duplicated {self.duplicated}"
            f"{', ' + extra if extra else ''}"
        )


def statuses_of(postgres: Postgres, run_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    with postgres.connect() as conn:
        rows = conn.execute(
            "SELECT id, status FROM runs_run WHERE id = ANY(%s)", [run_ids]
        ).fetchall()
    return {row[0]: row[1] for row in rows}


def wait_until_settled(postgres: Postgres, run_ids: list[uuid.UUID], timeout: float) -> None:
    def settled() -> bool:
        statuses = statuses_of(postgres, run_ids)
        return len(statuses) == len(run_ids) and all(
            status in {"done", "interrupted"} for status in statuses.values()
        )

    with contextlib.suppress(AssertionError):  # what is not settled is counted as lost
        wait_until(settled, "every run done or interrupted", timeout=timeout, every=0.5)


def count(postgres: Postgres, upstream: CountingUpstream, runs: dict[uuid.UUID, str]) -> Counts:
    """What became of the runs. Duplicated: a run delivered once whose request reached the
    upstream more than once, or an attempt stored more than once."""
    ids = list(runs)
    with postgres.connect() as conn:
        rows = conn.execute(
            "SELECT r.id, r.status, COUNT(a.id), COALESCE(MAX(a.deliveries), 0) "
            "FROM runs_run r LEFT JOIN runs_attempt a ON a.run_id = r.id "
            "WHERE r.id = ANY(%s) GROUP BY r.id, r.status",
            [ids],
        ).fetchall()
    done = sum(1 for row in rows if row[1] == "done")
    interrupted = sum(1 for row in rows if row[1] == "interrupted")
    duplicated = sum(
        1
        for run_id, _status, attempts, deliveries in rows
        if attempts > 1 or (deliveries <= 1 and upstream.count(runs[run_id]) > 1)
    )
    redelivered = sum(1 for row in rows if row[3] > 1)
    return Counts(
        submitted=len(ids),
        done=done,
        interrupted=interrupted,
        lost=len(ids) - done - interrupted,
        duplicated=duplicated,
        redelivered=redelivered,
    )
