"""``manage.py sandbox_tls``: serve the TLS sandbox until Ctrl-C or SIGTERM.

At start it makes (or reuses) the sandbox CA and certificates, then serves each
certificate on its own port: SANDBOX_TLS_PORTS (from SANDBOX_TLS_PORT, 8443, on), or from
``--port`` on; ``--port 0`` lets the system choose free ports. When it is serving it prints
``sandbox-tls ready {"good": 8443, ...}`` (the ports, as JSON) on a line of its own. If a
port is taken it serves nothing and exits with status 3 (PORTS_TAKEN_EXIT).
"""

import json
import signal
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.sandbox.certificates import CASES, ensure_certificates
from apps.sandbox.tls import PortTaken, TLSSandbox

PORTS_TAKEN_EXIT = 3
READY = "sandbox-tls ready"


class Command(BaseCommand):
    help = (
        "Serve the TLS sandbox: one https port per certificate (good, expired, wrong host, "
        "self-signed, untrusted issuer), made with the sandbox CA in SANDBOX_TLS_DIR."
    )
    requires_system_checks: list[str] = []  # a standalone server: no database, no models

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
        )
        parser.add_argument(
            "--port",
            type=int,
            default=None,
            help="the first port (the others follow it); 0: free ports chosen by the system "
            f"(default: SANDBOX_TLS_PORT, {settings.SANDBOX_TLS_PORT})",
        )
        parser.add_argument(
            "--dir",
            type=Path,
            default=None,
            help="where the certificates are kept (default: SANDBOX_TLS_DIR, "
            f"{settings.SANDBOX_TLS_DIR})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory: Path = options["dir"] or settings.SANDBOX_TLS_DIR
        host: str = options["host"]
        ports = self._ports(options["port"])
        certificates = ensure_certificates(directory)
        verbose = options["verbosity"] >= 2
        try:
            sandbox = TLSSandbox(
                certificates, host=host, ports=ports, log=self._log if verbose else _quiet
            )
        except PortTaken as taken:
            raise CommandError(
                f"The TLS sandbox cannot listen on {taken.host}:{taken.port} (its "
                f"'{taken.case}' certificate): {taken.reason}. Another sandbox_tls "
                "(another `make run`?) may be running: stop it, or choose other ports, e.g. "
                f"SANDBOX_TLS_PORT={settings.SANDBOX_TLS_PORT + 1000} (the "
                f"{len(CASES)} ports from it on are used).",
                returncode=PORTS_TAKEN_EXIT,
            ) from None
        stop = threading.Event()
        previous = {
            sig: signal.signal(sig, lambda *_: stop.set())
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            sandbox.start()
            self._announce(certificates.directory, certificates.made, host, sandbox.ports)
            while not stop.wait(0.5):
                pass
        finally:
            sandbox.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("TLS sandbox stopped.")

    def _ports(self, base: int | None) -> dict[str, int]:
        if base is None:
            return dict(settings.SANDBOX_TLS_PORTS)
        if base == 0:
            return {case.name: 0 for case in CASES}
        if not 0 < base <= 65536 - len(CASES):
            raise CommandError(f"--port must be 0 or from 1 to {65536 - len(CASES)}")
        return {case.name: base + offset for offset, case in enumerate(CASES)}

    def _announce(self, directory: Path, made: bool, host: str, ports: dict[str, int]) -> None:
        shown_host = "localhost" if host in ("127.0.0.1", "localhost") else host
        self.stdout.write(
            f"TLS sandbox certificates {'made' if made else 'reused'} in {directory}; "
            f"in development the dashboard trusts {directory / 'ca.pem'} "
            "(EGRESS_EXTRA_CA_BUNDLE)."
        )
        for case in CASES:
            self.stdout.write(
                f"  https://{shown_host}:{ports[case.name]}/  {case.name:<12} "
                f"{case.summary} -> {case.outcome}"
            )
        self.stdout.write(f"{READY} {json.dumps(ports)}")
        self.stdout.flush()

    def _log(self, line: str) -> None:
        self.stdout.write(f"[sandbox-tls] {line}")
        self.stdout.flush()


def _quiet(line: str) -> None:
    pass
