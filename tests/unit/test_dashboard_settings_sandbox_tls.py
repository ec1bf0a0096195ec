"""The settings of the TLS sandbox and of the extra CA bundle (dashboard.settings)."""

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from apps.egress.policy import AddressPolicy

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.datetime(2025, 6, 1, 12, 0, tzinfo=datetime.UTC)
LOOPBACK = AddressPolicy.from_allowlist(["127.0.0.1", "::1", "localhost"])

# --- settings -----------------------------------------------------------------------------


def settings_in(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter with `env` (and nothing of ours) set."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EGRESS_", "SANDBOX_TLS", "DEBUG"))
    }
    code = (
        "import json; from dashboard import settings as s; "
        "print(json.dumps([s.EGRESS_EXTRA_CA_BUNDLE, s.SANDBOX_TLS_PORTS]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_settings_trust_the_sandbox_ca_in_development_only(tmp_path: Path) -> None:
    development = settings_in(tmp_path, SANDBOX_TLS_PORT="9443")
    bundle, ports = json.loads(development.stdout)
    assert bundle == str(tmp_path / "sandbox-tls" / "ca.pem")
    assert ports == {
        "good": 9443,
        "expired": 9444,
        "wrong-host": 9445,
        "self-signed": 9446,
        "untrusted": 9447,
    }
    production = settings_in(
        tmp_path,
        DEBUG="0",
        SECRET_KEY="x" * 50,
        FIELD_ENCRYPTION_KEYS="ZGV2ZWxvcG1lbnQtb25seS1maWVsZC1rZXktMDAwMDA=",
    )
    assert json.loads(production.stdout)[0] == "", production.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("EGRESS_EXTRA_CA_BUNDLE", "/no/such/ca.pem", "EGRESS_EXTRA_CA_BUNDLE must be a PEM file"),
        ("SANDBOX_TLS_PORT", "65533", "SANDBOX_TLS_PORT must be a port number"),
        ("SANDBOX_TLS_PORT", "0", "SANDBOX_TLS_PORT must be a port number"),
    ],
)
def test_the_settings_refuse_bad_values(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    result = settings_in(tmp_path, **{name: value})
    assert result.returncode != 0
    assert message in result.stderr
