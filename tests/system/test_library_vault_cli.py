"""The issue's "done when", for real: a live server, a real Celery worker, the sandbox.

A cURL command from the docs is saved in a collection; its key comes from the team vault
through an environment; `apidiag run --saved NAME --env NAME` and `--collection NAME` run it
(this worktree's CLI, on PYTHONPATH). A vault secret bound to other hosts is refused at submit
with a clear message, and its value is in no page, API answer, export or the worker's log.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Team
from apps.library.models import Collection, Environment
from apps.runs.models import Run
from apps.vault.models import VaultEvent
from tests.api.conftest import make_token
from tests.support.clients import client_for
from tests.system.test_run_pipeline import OHLCV

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]
CLI = Path(__file__).resolve().parents[2] / "cli"
WORKER_LOG = Path(__file__).resolve().parents[2] / "artifacts" / "test-worker.log"
KEY = "sandbox-demo-key"  # the sandbox's key that gets a 200


def apidiag(base_url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "APIDIAG_URL": base_url, "APIDIAG_TOKEN": token,
           "PYTHONPATH": str(CLI)}  # fmt: skip
    code = "import sys; from apidiag.main import main; sys.argv[0] = 'apidiag'; main()"
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True, timeout=180, check=False)  # fmt: skip


@pytest.fixture
def signed_in(owner: User) -> Client:
    return client_for(owner)


def make_library(client: Client, base: str, hosts: str) -> Collection:
    """Through the pages: a vault secret, an environment using it, a pasted cURL command
    saved in a collection."""
    secret = {"name": "sandbox", "value": KEY, "hosts": hosts}
    assert client.post(reverse("vault:vault"), secret).status_code == 302
    variables = f"base={base}\napi_key={{{{vault:sandbox}}}}"
    assert client.post(reverse("saved:environments"),
                       {"name": "sandbox", "variables": variables}).status_code == 302  # fmt: skip
    raw = ('{"format": "apidiag.collection", "version": 1, "name": "Kaiko docs", "requests": ['
           '{"name": "ohlcv", "method": "GET", "url": "{{base}}' + OHLCV + '",'
           ' "headers": [["Accept", "application/json"]], "api_key": "{{api_key}}"}]}')  # fmt: skip
    assert client.post(reverse("saved:collections"), {"text": raw}).status_code == 302
    return Collection.objects.get()


def test_a_saved_request_and_its_collection_run_with_a_vault_key_from_the_cli(
    celery_worker: object, live_server: object, owner: User, team: Team, signed_in: Client
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    make_library(signed_in, base, hosts="localhost\n127.0.0.1")
    token = make_token(owner, team)
    listed = apidiag(base, token, "collections")
    assert listed.returncode == 0, listed.stderr
    assert "Kaiko docs" in listed.stdout and "Environments: sandbox" in listed.stdout
    one = apidiag(base, token, "run", "--saved", "ohlcv", "--env", "sandbox")
    assert one.returncode == 0, one.stdout + one.stderr
    assert one.stdout.startswith("200")
    every = apidiag(base, token, "run", "--collection", "Kaiko docs", "--env", "sandbox")
    assert every.returncode == 0, every.stdout + every.stderr
    assert "Kaiko docs in sandbox: 1 runs" in every.stdout
    assert [e.action for e in VaultEvent.objects.order_by("at")] == ["created", "used", "used"]
    runs = list(Run.objects.all())
    assert len(runs) == 2 and all(r.response_status == 200 for r in runs)
    for text in (listed.stdout, one.stdout, every.stdout):
        assert KEY not in text
    # A request typed on the command line: its {{variables}} filled by the environment, its
    # key the vault's secret.
    typed = apidiag(base, token, "run", "GET", "{{base}}" + OHLCV, "--vault", "sandbox",
                    "--env", "sandbox")  # fmt: skip
    assert typed.returncode == 0, typed.stdout + typed.stderr
    assert typed.stdout.startswith("200") and KEY not in typed.stdout
    latest = Run.objects.order_by("-created_at").first()
    assert latest is not None and latest.url.startswith(base) and KEY not in str(latest.__dict__)
    # The "done when" from the command line alone: a cURL command from the docs, run
    # with the vault's key, kept in a new collection, and that collection run.
    command = f"curl -H 'Accept: application/json' '{base}{OHLCV}'"
    pasted = apidiag(base, token, "run", command, "--vault", "sandbox",
                     "--save", "From the CLI", "--name", "ohlcv from curl")  # fmt: skip
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    assert pasted.stdout.startswith("200") and "Saved as “ohlcv from curl”" in pasted.stderr
    again = apidiag(base, token, "run", "--collection", "From the CLI")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "From the CLI: 1 runs" in again.stdout
    for text in (typed.stdout, pasted.stdout, pasted.stderr, again.stdout):
        assert KEY not in text


def test_a_secret_bound_to_other_hosts_is_refused_and_never_shown(
    celery_worker: object, live_server: object, owner: User, team: Team, signed_in: Client
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    collection = make_library(signed_in, base, hosts="*.market-api.kaiko.io")
    saved = collection.requests.get()
    environment = Environment.objects.get()
    response = signed_in.post(reverse("saved:run_request", args=[saved.pk]),
                              {"environment": str(environment.pk)}, follow=True)  # fmt: skip
    page = response.content.decode()
    assert "may only be sent to *.market-api.kaiko.io" in page
    token = make_token(owner, team)
    refused = apidiag(base, token, "run", "--saved", "ohlcv", "--env", "sandbox")
    assert refused.returncode == 4 and "may only be sent to" in refused.stderr
    assert not Run.objects.exists()
    assert VaultEvent.objects.filter(action="refused").count() == 2
    # With the host allowed, the run goes; then the value is nowhere it could leak.
    secret_page = signed_in.get(reverse("vault:vault"))
    secret_id = secret_page.context["secrets"][0].pk
    signed_in.post(reverse("vault:rebind", args=[secret_id]), {"hosts": "localhost 127.0.0.1"})
    ok = apidiag(base, token, "run", "--saved", "ohlcv", "--env", "sandbox", "--json")
    assert ok.returncode == 0, ok.stderr
    run = Run.objects.get()
    headers = {"Authorization": f"Bearer {token}"}
    seen = [ok.stdout]
    for path in (f"/api/v1/runs/{run.pk}", "/api/v1/collections", "/api/v1/exports/runs.har",
                 "/api/v1/exports/runs.csv"):  # fmt: skip
        seen.append(requests.get(base + path, headers=headers, timeout=30).text)
    for name in ("runs:detail",):
        seen.append(signed_in.get(reverse(name, args=[run.pk])).content.decode())
    seen.append(signed_in.get(reverse("saved:request", args=[saved.pk])).content.decode())
    # The forms that offer the vault's secrets by name, and the saved request's own pages.
    seen.append(signed_in.get(reverse("runs:new")).content.decode())
    seen.append(signed_in.get(f"{reverse('runs:new')}?from={run.pk}").content.decode())
    for name in ("saved:edit_request", "saved:delete_request", "saved:open_request"):
        page = signed_in.get(reverse(name, args=[saved.pk]), follow=True).content.decode()
        assert "sandbox" in page or name == "saved:delete_request"
        seen.append(page)
    seen.append(signed_in.get(reverse("saved:export", args=[collection.pk])).content.decode())
    seen.append(
        signed_in.get(reverse("saved:export_postman", args=[collection.pk])).content.decode()
    )
    seen.append(signed_in.get(reverse("vault:vault")).content.decode())
    seen.append(signed_in.get(reverse("vault:detail", args=[secret_id])).content.decode())
    seen.append(signed_in.get(reverse("saved:environment", args=[environment.pk])).content.decode())
    if WORKER_LOG.exists():
        seen.append(WORKER_LOG.read_text(errors="replace"))
    for text in seen:
        assert KEY not in text
