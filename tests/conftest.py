"""Fixtures shared by every test layer.

People: `owner` and `teammate` in `team`, `stranger` in `other_team`.
Processes: `celery_worker` starts a real `celery -A dashboard worker` process on the
configured broker (the filesystem broker, or CELERY_BROKER_URL) and the test database;
it trusts the CA of `sandbox_tls`, the TLS sandbox (`manage.py sandbox_tls`) on free ports.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from apps.accounts.models import Membership, Team
from dashboard.celery import app as celery_app
from dashboard.processes import beat_command, worker_command
from tests.support.clients import client_for
from tests.support.services import stop_group

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
PASSWORD = "correct-horse-battery"
# Each test session has its own queue, so a dashboard running on the same broker (or an
# earlier session's leftovers) never takes the tests' runs.
TEST_QUEUE = f"test-{uuid.uuid4().hex[:12]}"
# The session worker: runs in flight, and the share of one team (tests/system/test_fair_share.py).
TEST_WORKER_CONCURRENCY = 4
TEST_TEAM_MAX_IN_FLIGHT = 2


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: object) -> None:
    """Passwords hashed with a fast hasher in tests: the real one (PBKDF2) costs about 0.3 s
    a password by design, and most tests make several users. Sign-in still checks them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@pytest.fixture
def team(db: None) -> Team:
    return Team.objects.create(name="Alpha")


@pytest.fixture
def other_team(db: None) -> Team:
    return Team.objects.create(name="Bravo")


def _member(team: Team, username: str, role: str = Membership.Role.MEMBER) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD)
    Membership.objects.create(user=user, team=team, role=role)
    return user


@pytest.fixture
def owner(team: Team) -> User:
    return _member(team, "alice", Membership.Role.OWNER)


@pytest.fixture
def teammate(team: Team) -> User:
    return _member(team, "bob")


@pytest.fixture
def stranger(other_team: Team) -> User:
    return _member(other_team, "mallory", Membership.Role.OWNER)


@pytest.fixture
def owner_client(owner: User) -> Client:
    return client_for(owner)


def database_url() -> str:
    """A URL for the database the tests use (the test database, once it is set up)."""
    conf = connection.settings_dict
    if conf["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{conf['NAME']}"
    user = conf.get("USER") or ""
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{conf['PORT']}" if conf.get("PORT") else ""
    return f"postgres://{auth}{conf.get('HOST') or 'localhost'}{port}/{conf['NAME']}"


@pytest.fixture(scope="session")
def broker_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Point this process's Celery app and the worker's at the session's own queue."""
    env = {"CELERY_QUEUE": TEST_QUEUE}
    celery_app.conf.task_default_queue = TEST_QUEUE
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        broker_dir = tmp_path_factory.mktemp("broker")
        for folder in ("queue", "control"):
            (broker_dir / folder).mkdir()
        env["BROKER_DIR"] = str(broker_dir)
        celery_app.conf.broker_transport_options = {
            **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            "data_folder_in": str(broker_dir / "queue"),
            "data_folder_out": str(broker_dir / "queue"),
            "control_folder": str(broker_dir / "control"),
        }
    return env


@pytest.fixture(scope="session")
def celery_worker(
    django_db_setup: None, broker_env: dict[str, str], sandbox_tls: "SandboxTLS"
) -> Iterator[subprocess.Popen[bytes]]:
    """A real worker process, consuming the session's queue, writing to the test database;
    it trusts the TLS sandbox's CA, as a development worker does."""
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "test-worker.log"
    env = {
        **os.environ,
        **broker_env,
        "DATABASE_URL": database_url(),
        "EGRESS_ALLOWLIST": "127.0.0.1,::1,localhost",
        "EGRESS_EXTRA_CA_BUNDLE": str(sandbox_tls.ca_bundle),
        "PYTHONUNBUFFERED": "1",
        # Fair share at a small scale: 4 runs in flight, 2 per team (tests/system).
        "RUN_TEAM_MAX_IN_FLIGHT": str(TEST_TEAM_MAX_IN_FLIGHT),
        "RUN_TEAM_WAIT_SECONDS": "0.5",
    }
    command = worker_command(
        concurrency=TEST_WORKER_CONCURRENCY,
        queues=TEST_QUEUE,
        hostname=f"{TEST_QUEUE}@%h",
        extra=["--without-heartbeat"],
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while b" ready." not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the Celery worker did not start:\n{log_path.read_text()}")
        time.sleep(0.2)
    yield process
    stop_group(process)


@dataclass(frozen=True)
class SandboxTLS:
    ca_bundle: Path  # the sandbox CA, to trust
    ports: dict[str, int]  # certificate name -> port


@pytest.fixture(scope="session")
def sandbox_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxTLS]:
    """`manage.py sandbox_tls` on free ports, its certificates in a folder of the session's;
    settings.SANDBOX_TLS_PORTS points at it (the TLS presets' URLs) while it runs."""
    ARTIFACTS.mkdir(exist_ok=True)
    folder = tmp_path_factory.mktemp("sandbox-tls")
    log_path = ARTIFACTS / "test-sandbox-tls.log"
    command = [sys.executable, "manage.py", "sandbox_tls", "--port", "0", "--dir", str(folder)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ready = b"sandbox-tls ready "
    deadline = time.monotonic() + 30
    while ready not in log_path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the TLS sandbox did not start:\n{log_path.read_text()}")
        time.sleep(0.1)
    line = next(line for line in log_path.read_bytes().splitlines() if line.startswith(ready))
    ports = json.loads(line[len(ready) :])
    previous = settings.SANDBOX_TLS_PORTS
    settings.SANDBOX_TLS_PORTS = ports
    yield SandboxTLS(ca_bundle=folder / "ca.pem", ports=ports)
    settings.SANDBOX_TLS_PORTS = previous
    stop_group(process, timeout=10)


@pytest.fixture
def celery_beat(
    celery_worker: object, broker_env: dict[str, str], tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A real `celery -A dashboard beat` on the session's queue and the test database,
    ticking monitors every second (its log in artifacts/test-beat.log)."""
    log_path = ARTIFACTS / "test-beat.log"
    env = {
        **os.environ,
        **broker_env,
        "DATABASE_URL": database_url(),
        "MONITOR_TICK_INTERVAL": "1",
        "PYTHONUNBUFFERED": "1",
    }
    command = beat_command(schedule=str(tmp_path / "beat-schedule"))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    yield process
    stop_group(process)
