"""The sandbox in production: SANDBOX_ENABLED follows DEBUG unless set, and with DEBUG=0 every
sandbox URL answers 404, to anyone, for any method. Read in a fresh process, as a deployment
reads its environment (the test process's settings were made with DEBUG on)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PATHS = [
    "/sandbox/",
    "/sandbox/large?mb=1024",
    "/sandbox/echo",
    "/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd",
    "/sandbox/t/0123456789abcdef0123/large?mb=1024",
    "/sandbox/maintenance/",
]
READ = f"""
import json
import django
django.setup()
from django.conf import settings
from django.test import Client
client = Client(raise_request_exception=False)
answers = []
for path in {PATHS!r}:
    answers.append(client.get(path, secure=True).status_code)
    answers.append(client.post(path, {{"state": "on"}}, secure=True).status_code)
print(json.dumps({{"enabled": settings.SANDBOX_ENABLED, "answers": answers}}))
"""


def deployed(tmp_path: Path, **environ: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    for name in ("DEBUG", "SANDBOX_ENABLED", "DATABASE_URL"):
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        SECRET_KEY="a-key-for-this-test-only-0123456789abcdef",
        FIELD_ENCRYPTION_KEYS="ZGV2ZWxvcG1lbnQtb25seS1maWVsZC1rZXktMDAwMDA=",
        ALLOWED_HOSTS="testserver",
        VAR_DIR=str(tmp_path),
        **environ,
    )
    done = subprocess.run(
        [sys.executable, "-c", READ],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=120, env=env,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_with_debug_off_every_sandbox_url_answers_404(tmp_path: Path) -> None:
    found = deployed(tmp_path, DEBUG="0")
    assert found["enabled"] is False
    assert found["answers"] == [404] * (2 * len(PATHS))


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [({"DEBUG": "1"}, True), ({"DEBUG": "0", "SANDBOX_ENABLED": "1"}, True)],
)
def test_it_is_on_with_debug_or_when_asked(
    tmp_path: Path, environ: dict[str, str], enabled: bool
) -> None:
    assert deployed(tmp_path, **environ)["enabled"] is enabled
