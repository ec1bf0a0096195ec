"""Private services for the chaos tests and the benchmarks: a PostgreSQL cluster and a Redis
of their own (on free ports, in temporary folders), so that stopping or loading them
disturbs nothing else on the machine; the dashboard's processes (gunicorn, Celery workers,
beat) against them; and a signed-in HTTP client that submits runs as a browser's form does.

Plain code, no pytest: the chaos fixtures and the `bench/` scripts both build on it.
"""

import base64
import contextlib
import glob
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

from dashboard.processes import beat_command, worker_command

ROOT = Path(__file__).resolve().parent.parent.parent


class ServiceMissing(Exception):
    """A program the private services need is not installed; the message says which."""


def wait_or_kill(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Wait for a process (the leader of its own group) to end; past `timeout`, kill -9 the
    whole group."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def stop_group(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM a process and its children (its group) so they finish what they are doing,
    then `wait_or_kill`."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    wait_or_kill(process, timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(
    check: Callable[[], object], what: str, timeout: float = 30, every: float = 0.2
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:  # noqa: S110 (the service is not up yet)
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(every)


# PostgreSQL and Redis of our own ---------------------------------------------------------


@dataclass
class Postgres:
    folder: Path
    port: int
    bin_dir: Path
    process_user: str | None  # "postgres" when we are root
    database: str = "chaos"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.process_user:
            command = ["runuser", "-u", self.process_user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "server.log")
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-o", options, "-l", log, "-w",
                  "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url.replace("postgres://", "postgresql://"), autocommit=True)

    def version(self) -> str:
        with self.connect() as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else ""


@contextlib.contextmanager
def private_postgres(database: str, *, prefix: str = "chaos-pg-") -> Iterator[Postgres]:
    """A new PostgreSQL cluster on a free port with `database` created; removed at the end."""
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    found = shutil.which("initdb")
    if not initdbs and not found:
        raise ServiceMissing("PostgreSQL's initdb is needed (apt-get install postgresql)")
    bin_dir = Path(initdbs[-1] if initdbs else found).parent  # type: ignore[arg-type]
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    user = "postgres" if os.geteuid() == 0 else None
    if user:
        shutil.chown(folder, user=user)
    server = Postgres(
        folder=folder, port=free_port(), bin_dir=bin_dir, process_user=user, database=database
    )
    try:
        server._run("initdb", "-D", str(folder / "data"), "-A", "trust", "-U", "postgres",
                    "--no-sync")  # fmt: skip
        server.start()
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{server.port}/postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        yield server
    finally:
        server._run("pg_ctl", "-D", str(folder / "data"), "-m", "immediate", "stop", check=False)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Redis:
    folder: Path
    port: int
    logs: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--dir", str(self.folder)]  # fmt: skip
        with (self.logs / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

        def answers() -> bool:
            socket.create_connection(("127.0.0.1", self.port), 0.5).close()
            return True

        wait_until(answers, "redis up", timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def flush(self) -> None:
        import redis

        redis.Redis.from_url(self.url).flushall()

    def version(self) -> str:
        import redis

        return str(redis.Redis.from_url(self.url).info("server").get("redis_version", ""))


@contextlib.contextmanager
def private_redis(logs: Path, *, prefix: str = "chaos-redis-") -> Iterator[Redis]:
    """A new Redis on a free port (no persistence); stopped and removed at the end."""
    if not shutil.which("redis-server"):
        raise ServiceMissing("redis-server is needed (apt-get install redis-server)")
    logs.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    server = Redis(folder=folder, port=free_port(), logs=logs)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def dashboard_env(
    *,
    database_url: str,
    broker_url: str,
    queue: str,
    var_dir: str,
    deployed: bool = False,
    **extra: str,
) -> dict[str, str]:
    """The environment of every dashboard process against private services.

    `deployed`: as in production (DEBUG off, keys of its own, a shared Redis cache; plain
    HTTP on the loopback, so no secure cookies, HTTPS redirect or HSTS): what the
    benchmarks measure. Static files are then collected by `migrate_and_add_user`.
    """
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))},
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DEBUG": "1",
        "VAR_DIR": var_dir,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_QUEUE": queue,
        "CACHE_URL": "",
        "EGRESS_ALLOWLIST": "127.0.0.1,::1,localhost",
        "RATELIMIT_SUBMIT": "100000/m",
        "AXES_FAILURE_LIMIT": "1000",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
        **(deployed_settings(broker_url) if deployed else {}),
        **extra,
    }


def deployed_settings(broker_url: str) -> dict[str, str]:
    """Production settings with keys of their own, made fresh for each stack; with a Redis
    broker, a shared cache beside it (its next database), as several processes need."""
    cache = {}
    if broker_url.startswith("redis://"):
        server, _, database = broker_url.rpartition("/")
        cache["CACHE_URL"] = f"{server}/{int(database or 0) + 1}"
    return {
        **cache,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "SECURE_COOKIES": "0",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
    }


def migrate_and_add_user(env: dict[str, str], *, username: str, password: str, team: str) -> None:
    """Migrate the database of `env` and give it a user who can sign in, owner of `team`
    (and collect the static files where DEBUG is off, as a deployment does)."""
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True,
                   timeout=180)  # fmt: skip
    if env.get("DEBUG") == "0":
        subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                       check=True, timeout=180)  # fmt: skip
    create_user = (
        "from django.contrib.auth.models import User\n"
        "from apps.accounts.models import Membership, Team\n"
        f"user, _ = User.objects.get_or_create(username={username!r})\n"
        f"user.set_password({password!r}); user.save()\n"
        f"team, _ = Team.objects.get_or_create(name={team!r})\n"
        "Membership.objects.get_or_create(user=user, team=team, defaults={'role': 'owner'})\n"
    )
    subprocess.run([*manage, "shell", "-c", create_user], cwd=ROOT, env=env, check=True,
                   timeout=120)  # fmt: skip


# The dashboard's processes -----------------------------------------------------------------


@dataclass
class Stack:
    """A web server, workers and beat against the services of `env`; `stop_all` ends them."""

    env: dict[str, str]
    name: str
    logs: Path
    web_port: int = 0
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def queue(self) -> str:
        return self.env.get("CELERY_QUEUE", "runs")

    def _start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        log_path = self.logs / f"{self.name}-{name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.logs / f"{self.name}-{name}.log").read_text(errors="replace")

    def start_web(self, workers: int = 2, threads: int = 8) -> None:
        self.web_port = free_port()
        self._start("web", [sys.executable, "-m", "gunicorn", "dashboard.wsgi", "--bind",
                            f"127.0.0.1:{self.web_port}", "--workers", str(workers),
                            "--threads", str(threads), "--worker-class", "gthread",
                            "--timeout", "60", "--graceful-timeout", "5"])  # fmt: skip
        wait_until(lambda: requests.get(f"{self.web_url}/healthz", timeout=2).ok, "web up")

    def start_worker(
        self, name: str, concurrency: int | None = None, extra: tuple[str, ...] = ()
    ) -> subprocess.Popen[bytes]:
        """A worker (`dashboard.processes.worker_command`): `concurrency` runs in flight, by
        default WORKER_CONCURRENCY of its environment."""
        command = worker_command(
            concurrency=concurrency, queues=self.queue, hostname=f"{name}@{self.queue}", extra=extra
        )
        process = self._start(name, command)
        wait_until(lambda: " ready." in self.log(name), f"worker {name} ready", timeout=60)
        return process

    def start_beat(self) -> None:
        schedule = Path(self.env["VAR_DIR"]) / f"beat-{self.name}"
        self._start("beat", beat_command(schedule=str(schedule)))

    def kill(self, name: str) -> None:
        """kill -9 the process and its children (a worker's pool processes)."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self, name: str) -> None:
        """SIGTERM the process and its children; they finish what they are doing."""
        stop_group(self.processes.pop(name))

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            wait_or_kill(process)
        self.processes.clear()


# Submitting over HTTP, as a browser does ---------------------------------------------------


class Browser:
    """One signed-in session: the CSRF token handled as a browser's form does. Made from
    another's cookies, it is another tab of the same signed-in browser."""

    def __init__(
        self, base_url: str, *, username: str, password: str, like: "Browser | None" = None
    ) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if like is not None:
            self.session.cookies.update(like.session.cookies)
            return
        self.session.get(f"{base_url}/accounts/login/", timeout=10)
        response = self.session.post(
            f"{base_url}/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": self.token},
            allow_redirects=False,
            timeout=60,
        )
        assert response.status_code == 302, response.text[:500]

    @property
    def token(self) -> str:
        return self.session.cookies["csrftoken"]

    def submit(
        self, url: str, method: str = "GET", timeout: float = 10
    ) -> tuple[int, uuid.UUID | None]:
        """Submit a run; its HTTP status, and the new run's id when it was stored."""
        data = {
            "method": method,
            "url": url,
            "params": "",
            "headers": "Accept: application/json",
            "body": '{"order": 1}' if method == "POST" else "",
            "api_key": "",
            "timeout": f"{timeout:g}",
            "profile": "",
            "csrfmiddlewaretoken": self.token,
        }
        response = self.session.post(
            f"{self.base_url}/runs/new/", data=data, allow_redirects=False, timeout=30
        )
        match = re.search(r"/runs/([0-9a-f-]{36})/", response.headers.get("Location", ""))
        return response.status_code, uuid.UUID(match.group(1)) if match else None
