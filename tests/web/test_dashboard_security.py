"""The web side of security: CSP with nonces, CSRF, rate limits, lockout, deploy settings,
and rotation of the keys that encrypt stored secrets."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from cryptography.fernet import Fernet, InvalidToken
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from apps.accounts.models import Team
from apps.runs import secrets
from apps.runs.models import Run
from apps.vault.services import create_secret
from tests.conftest import PASSWORD
from tests.support.clients import client_for
from tests.support.factories import finished_run

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


def test_it_sends_a_csp_with_a_fresh_nonce_that_the_htmx_script_carries(
    team: Team, owner: User
) -> None:
    run = finished_run(team, owner)
    client = client_for(owner)
    nonces = set()
    for url in [
        reverse("home"), reverse("runs:new"), reverse("runs:detail", args=[run.id]),
        reverse("diagnosis:index"), reverse("sandbox:docs"),
    ]:  # fmt: skip
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "object-src 'none'" in policy
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)  # type: ignore[union-attr]
        assert f'nonce="{nonce}"' in response.content.decode(), url
        nonces.add(nonce)
    login = Client().get(reverse("login"))
    assert "'nonce-" in login["Content-Security-Policy"]
    assert len(nonces) == 5  # a new one on every response


def test_it_refuses_a_post_without_a_csrf_token(owner: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(reverse("runs:new"), {"method": "GET", "url": "https://a.example/"})
    assert response.status_code == 403
    assert Run.objects.count() == 0


@override_settings(RATELIMIT_SUBMIT="2/d")
def test_it_rate_limits_submissions_and_keeps_the_form(
    owner: User, django_capture_on_commit_callbacks: object
) -> None:
    client = client_for(owner)
    data = {"method": "GET", "url": "https://api.example/x", "timeout": "5", "api_key": "k-12345"}
    statuses = [client.post(reverse("runs:new"), data).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    page = client.post(reverse("runs:new"), data)
    assert page.status_code == 429
    assert "Too many requests submitted" in page.content.decode()
    assert "https://api.example/x" in page.content.decode()  # nothing typed is lost
    assert Run.objects.count() == 2


@override_settings(AXES_FAILURE_LIMIT=3)
def test_it_locks_sign_in_after_repeated_failures(owner: User) -> None:
    client = Client()
    for _ in range(3):
        response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 429
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert "Sign-in locked" in response.content.decode()
    assert "_auth_user_id" not in client.session


@override_settings(AXES_FAILURE_LIMIT=2)
@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_a_username_longer_than_any_is_refused_and_counted_not_a_500(url: str) -> None:
    """Django's sign-in form does not cut a username to its field's length; axes then wrote it
    to a 255-character column (a 500 on PostgreSQL). It is counted under its first 150
    characters, the longest a username can be, so the lockout still holds."""
    client = Client()
    typed = "a" * 300
    statuses = [
        client.post(url, {"username": typed, "password": "wrong"}).status_code for _ in range(3)
    ]
    assert statuses[0] == 200 and statuses[-1] == 429
    attempt = AccessAttempt.objects.get()
    assert attempt.username == "a" * 150 and attempt.failures_since_start == 3


def test_it_lets_a_correct_password_in_before_the_limit(owner: User) -> None:
    client = Client()
    client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302


def test_it_passes_the_deploy_check_under_production_settings(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": Fernet.generate_key().decode() * 2,
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "dashboard.example.com",
        "VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_in_production_without_its_keys(tmp_path: Path) -> None:
    env = {**os.environ, "DEBUG": "0", "VAR_DIR": str(tmp_path)}
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_rotates_the_encryption_key(team: Team, owner: User) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        run = finished_run(
            team, owner, run={"secrets_encrypted": secrets.encrypt(secrets.RunSecrets("k-rot-1"))}
        )
        secret = create_secret(
            team=team, user=owner, name="KAIKO", value="k-vault-1", hosts=["*.kaiko.io"]
        )
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        call_command("rotate_encryption_keys", stdout=open(os.devnull, "w"))  # noqa: SIM115
    run.refresh_from_db()
    secret.refresh_from_db()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
        assert secrets.decrypt(run.secrets_encrypted).api_key == "k-rot-1"
        assert secrets.fernet().decrypt(bytes(secret.value_encrypted)) == b"k-vault-1"
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]), pytest.raises(InvalidToken):
        secrets.decrypt(run.secrets_encrypted)
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]), pytest.raises(InvalidToken):
        secrets.fernet().decrypt(bytes(secret.value_encrypted))
