"""Where sessions are kept: in the database, and read from the cache only when the cache is
one every process shares (Redis)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
READ = "from django.conf import settings; print(settings.SESSION_ENGINE)"


def session_engine(cache_url: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    done = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {READ}"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
        env={**env, "DJANGO_SETTINGS_MODULE": "dashboard.settings", "CACHE_URL": cache_url},
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("cache_url", "engine"),
    [
        ("", "django.contrib.sessions.backends.db"),  # a memory cache per process
        ("redis://127.0.0.1:6379/1", "django.contrib.sessions.backends.cached_db"),
    ],
)
def test_sessions_are_cached_only_in_a_shared_cache(cache_url: str, engine: str) -> None:
    assert session_engine(cache_url) == engine
