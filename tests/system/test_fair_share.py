"""Fair share with a real worker: one team's requests hang on a local upstream, holding no
more than the team's share of the worker's slots, and another team's run goes past them.
Asserted on order and state (never on wall time): the other team's run is done while every
hanging run is still unfinished."""

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from django.contrib.auth.models import User

from apps.runs.models import Attempt, Run
from tests.conftest import TEST_TEAM_MAX_IN_FLIGHT, TEST_WORKER_CONCURRENCY
from tests.support.clients import client_for
from tests.support.servers import QuietServer
from tests.system.test_run_pipeline import submit, wait_until_done

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

HANGING_RUNS = TEST_WORKER_CONCURRENCY  # enough to take every slot without fair share


class GateServer(QuietServer):
    """Answers /hang/... once the gate opens, /fast at once; counts what hangs at once."""

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.gate = threading.Event()
        self.lock = threading.Lock()
        self.hanging = self.most_hanging = 0
        self.paths: Counter[str] = Counter()
        self.base = f"http://127.0.0.1:{self.server_address[1]}"


class GateHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: GateServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        server = self.server
        with server.lock:
            server.paths[self.path] += 1
        if self.path.startswith("/hang/"):
            with server.lock:
                server.hanging += 1
                server.most_hanging = max(server.most_hanging, server.hanging)
            server.gate.wait(timeout=60)
            with server.lock:
                server.hanging -= 1
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def upstream() -> Iterator[GateServer]:
    server = GateServer(("127.0.0.1", 0), GateHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.gate.set()
        server.shutdown()
        server.server_close()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what} after {timeout} s")
        time.sleep(0.1)


def test_it_runs_another_teams_request_past_one_teams_hanging_ones(
    celery_worker: object, upstream: GateServer, owner: User, stranger: User
) -> None:
    base = upstream.base
    hanging_team, other_team = client_for(owner), client_for(stranger)
    hanging = [
        submit(hanging_team, f"{base}/hang/{uuid.uuid4().hex}", timeout="30")
        for _ in range(HANGING_RUNS)
    ]
    # The team holds its share of the slots; the rest of its runs wait, queued.
    wait_for(lambda: upstream.hanging == TEST_TEAM_MAX_IN_FLIGHT, "the team's share to hang")

    fast = wait_until_done(submit(other_team, f"{base}/fast"), timeout=30)

    assert fast.response_status == 200
    states = Counter(Run.objects.filter(pk__in=hanging).values_list("status", flat=True))
    assert states == {
        Run.Status.RUNNING: TEST_TEAM_MAX_IN_FLIGHT,
        Run.Status.QUEUED: HANGING_RUNS - TEST_TEAM_MAX_IN_FLIGHT,
    }
    assert upstream.most_hanging == TEST_TEAM_MAX_IN_FLIGHT

    upstream.gate.set()
    for run_id in hanging:
        run = wait_until_done(run_id, timeout=60)
        assert run.response_status == 200
        assert fast.finished_at is not None and run.finished_at is not None
        assert run.finished_at > fast.finished_at
    # Each waiting run was claimed once its turn came: sent once, delivered once.
    assert upstream.most_hanging == TEST_TEAM_MAX_IN_FLIGHT
    assert all(upstream.paths[path] == 1 for path in upstream.paths)
    assert len(upstream.paths) == HANGING_RUNS + 1
    attempts = Attempt.objects.filter(run_id__in=hanging)
    assert sorted(attempts.values_list("deliveries", flat=True)) == [1] * HANGING_RUNS
