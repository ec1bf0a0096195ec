"""Start the web server and a Celery worker together; stop both on Ctrl-C.

Each process runs in its own process group, so stopping it also stops the children it
started (the autoreloader's server, the worker's pool processes). If either exits, the
other is stopped too: nothing is left running.
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
GRACE_SECONDS = 10


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="8000")
    parser.add_argument("--concurrency", default="2", help="worker processes")
    args = parser.parse_args()

    python = sys.executable
    processes = {
        "web": start("web", [python, "manage.py", "runserver", f"{args.host}:{args.port}"]),
        "worker": start(
            "worker",
            [
                python,
                "-m",
                "celery",
                "-A",
                "dashboard",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                args.concurrency,
                "--without-gossip",
                "--without-mingle",
            ],
        ),
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
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"[run] {name} exited with code {process.returncode}", flush=True)
                exit_code = process.returncode or 1
                stopping = True
        time.sleep(0.2)
    stop_all(processes)
    print("[run] stopped", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
