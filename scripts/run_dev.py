"""Start the web server, a Celery worker, Celery beat (the sweeper's schedule) and the TLS
sandbox together; stop all on Ctrl-C.

Each process runs in its own process group, so stopping it also stops the children it
started (the autoreloader's server, the worker's pool processes). If the web server, the
worker or beat exits, everything is stopped: nothing is left running. The TLS sandbox
(`manage.py sandbox_tls`, https ports from SANDBOX_TLS_PORT, 8443, on) is optional: if it
exits (most often because one of its ports is taken) it says why, and the web server and
the worker keep running without it; only the TLS presets fail then.
"""

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.processes import beat_command, worker_command  # noqa: E402

GRACE_SECONDS = 10
OPTIONAL = frozenset({"sandbox-tls"})  # may exit without stopping the others
PORTS_TAKEN_EXIT = 3  # sandbox_tls's exit status when one of its ports is in use


def start(name: str, command: list[str]) -> subprocess.Popen[bytes]:
    print(f"[run] starting {name}: {' '.join(command)}", flush=True)
    return subprocess.Popen(command, cwd=ROOT, start_new_session=True)


def stop_all(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for name, process in processes.items():
        if process.poll() is None:
            print(f"[run] stopping {name}", flush=True)
            # The leader stops its own children (the worker warm-shuts its pool).
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for process in processes.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        # Whatever the group still holds (e.g. the autoreloader's server) is ended too.
        _signal_group(process, signal.SIGKILL)
        process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def _optional_exited(name: str, code: int) -> None:
    why = "one of its ports is taken" if code == PORTS_TAKEN_EXIT else "it stopped"
    print(
        f"[run] {name} is not running: {why} (see above). The web server and the worker keep "
        "running; only the TLS presets do not give what their labels say. To have it, free "
        "its ports or choose others (SANDBOX_TLS_PORT=9443 make run) and start again.",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="8000")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="runs in flight (WORKER_CONCURRENCY)"
    )
    args = parser.parse_args()

    python = sys.executable
    processes = {
        # First, so that its certificates exist by the time the worker needs them.
        "sandbox-tls": start("sandbox-tls", [python, "manage.py", "sandbox_tls"]),
        "web": start("web", [python, "manage.py", "runserver", f"{args.host}:{args.port}"]),
        "worker": start("worker", worker_command(concurrency=args.concurrency)),
        # Every SWEEP_INTERVAL, the sweeper publishes again what the broker lost and settles
        # runs whose worker stopped (its schedule file is under VAR_DIR).
        "beat": start("beat", beat_command()),
    }
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        if stopping:  # a second Ctrl-C: stop at once
            for process in processes.values():
                _signal_group(process, signal.SIGKILL)
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print(
        f"[run] dashboard at http://{args.host}:{args.port}/ "
        "(Ctrl-C stops everything; pressed twice, at once)",
        flush=True,
    )
    exit_code = 0
    watched = dict(processes)
    while not stopping:
        for name, process in list(watched.items()):
            if process.poll() is None:
                continue
            print(f"[run] {name} exited with code {process.returncode}", flush=True)
            if name in OPTIONAL:
                del watched[name]
                _optional_exited(name, process.returncode)
                continue
            exit_code = process.returncode or 1
            stopping = True
        time.sleep(0.2)
    stop_all(processes)
    print("[run] stopped", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
