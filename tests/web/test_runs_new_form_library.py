"""The new-request form's team choices: a vault secret picked as the key (names offered,
values never; the host binding still checked at submit) and an environment whose values fill
{{variables}} (the run notes which; a variable it does not define is a field error)."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.urls import reverse

from apps.accounts.models import Team
from apps.library.models import Environment, RunEnvironment, SavedRequest
from apps.runs import secrets
from apps.runs.models import Run
from apps.vault.models import VaultEvent, VaultSecret
from tests.support.clients import ClientResponse, client_for
from tests.support.factories import finished_run

pytestmark = pytest.mark.django_db
NEW = reverse("runs:new")
VALUE = "kv-picked-8d21f0"
KAIKO = "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades"


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()  # rate-limit counters


@pytest.fixture
def secret(owner: User, team: Team) -> VaultSecret:
    fields = {"name": "kaiko-prod", "value": VALUE, "hosts": "*.market-api.kaiko.io"}
    response = client_for(owner).post(reverse("vault:vault"), fields)
    assert response.status_code == 302
    return VaultSecret.objects.for_team(team).get()


@pytest.fixture
def production(owner: User, team: Team, secret: VaultSecret) -> Environment:
    variables = "host=us.market-api.kaiko.io\nexchange=cbse\nkey={{vault:kaiko-prod}}"
    response = client_for(owner).post(
        reverse("saved:environments"), {"name": "Kaiko production", "variables": variables}
    )
    assert response.status_code == 302
    return Environment.objects.for_team(team).get()


def send(user: User, **fields: str) -> ClientResponse:
    data = {"method": "GET", "url": KAIKO, "timeout": "5", **fields}
    return client_for(user).post(NEW, data)


# A key from the vault ----------------------------------------------------------------------


def test_the_form_offers_the_team_s_secret_names_never_their_values(
    teammate: User, secret: VaultSecret, stranger: User
) -> None:
    page = client_for(teammate).get(NEW).content.decode()
    assert "Or a key from the team&#x27;s vault" in page
    assert '<option value="kaiko-prod">kaiko-prod</option>' in page
    assert VALUE not in page
    # Another team's form offers nothing of this vault.
    assert '<option value="kaiko-prod">' not in client_for(stranger).get(NEW).content.decode()


def test_a_picked_secret_is_the_key_of_the_run(teammate: User, secret: VaultSecret) -> None:
    response = send(teammate, vault_secret="kaiko-prod")
    run = Run.objects.get()
    assert response["Location"] == reverse("runs:detail", args=[run.pk])
    assert secrets.decrypt(run.secrets_encrypted).api_key == VALUE
    assert run.has_api_key
    assert VaultEvent.objects.get(action="used").run == run


def test_a_picked_secret_is_refused_for_another_host_at_the_field(
    owner: User, secret: VaultSecret
) -> None:
    response = send(owner, url="https://api.example.com/v1/x", vault_secret="kaiko-prod")
    assert response.status_code == 200
    page = response.content.decode()
    assert "may only be sent to *.market-api.kaiko.io" in page
    assert 'id="id_vault_secret_error"' in page
    assert VALUE not in page
    assert not Run.objects.exists()
    assert VaultEvent.objects.filter(action="refused").count() == 1


def test_a_typed_key_and_a_picked_secret_are_one_too_many(owner: User, secret: VaultSecret) -> None:
    response = send(owner, api_key="k-typed-1", vault_secret="kaiko-prod")
    assert "clear the key field, or pick “None” here" in response.content.decode()
    assert not Run.objects.exists()


def test_a_name_that_is_not_the_team_s_is_not_a_choice(
    owner: User, stranger: User, secret: VaultSecret
) -> None:
    response = send(stranger, vault_secret="kaiko-prod")
    assert "Select a valid choice" in response.content.decode()
    assert not Run.objects.exists()


def test_a_form_error_does_not_show_the_value(owner: User, secret: VaultSecret) -> None:
    response = send(owner, url="not a url", vault_secret="kaiko-prod")
    page = response.content.decode()
    assert '<option value="kaiko-prod" selected>kaiko-prod</option>' in page
    assert VALUE not in page and not Run.objects.exists()


def test_a_pasted_command_with_a_vault_reference_shows_the_pick(
    owner: User, secret: VaultSecret
) -> None:
    command = f"curl '{KAIKO}' -H 'X-Api-Key: {{{{vault:kaiko-prod}}}}'"
    page = client_for(owner).post(reverse("saved:import"), {"text": command}).content.decode()
    assert '<option value="kaiko-prod" selected>kaiko-prod</option>' in page
    assert VALUE not in page


# Environments ------------------------------------------------------------------------------


def test_an_environment_fills_the_variables_and_the_run_notes_it(
    owner: User, production: Environment
) -> None:
    page = client_for(owner).get(NEW).content.decode()
    assert f'<option value="{production.pk}">Kaiko production</option>' in page
    assert VALUE not in page
    url = "https://{{host}}/v2/data/trades.v1/exchanges/{{exchange}}/spot/btc-usd/trades"
    response = send(owner, url=url, api_key="{{key}}", environment=str(production.pk))
    run = Run.objects.get()
    assert response["Location"] == reverse("runs:detail", args=[run.pk])
    assert run.url == KAIKO
    assert secrets.decrypt(run.secrets_encrypted).api_key == VALUE
    noted = RunEnvironment.objects.get(run=run)
    assert (noted.environment, noted.name) == (production, "Kaiko production")
    shown = client_for(owner).get(response["Location"]).content.decode()
    environment_url = reverse("saved:environment", args=[production.pk])
    assert (
        f'data-testid="environment-used"><a href="{environment_url}">Kaiko production</a>' in shown
    )
    production.delete()
    shown = client_for(owner).get(response["Location"]).content.decode()
    assert 'Kaiko production <span class="hint">(deleted since)</span>' in shown


def test_a_variable_the_environment_does_not_define_is_a_field_error(
    owner: User, production: Environment
) -> None:
    response = send(owner, url="https://{{host}}/v2/{{version}}/x",
                    environment=str(production.pk))  # fmt: skip
    page = response.content.decode()
    assert "The environment “Kaiko production” has no value for {{version}}" in page
    assert 'id="id_url_error"' in page
    assert 'value="https://{{host}}/v2/{{version}}/x"' in page  # what was typed stays
    assert not Run.objects.exists()


def test_a_variable_without_an_environment_asks_for_one(
    owner: User, production: Environment
) -> None:
    response = send(owner, headers="Accept: {{accept}}")
    page = response.content.decode()
    assert "{{accept}}: no environment is picked to give it a value" in page
    assert 'id="id_headers_error"' in page and not Run.objects.exists()


def test_a_form_shown_again_offers_every_secret_and_environment(
    owner: User, production: Environment
) -> None:
    # A submission is checked against only what it picked; shown again, the form offers all.
    response = send(owner, headers="Accept: {{accept}}")
    page = response.content.decode()
    assert 'id="id_headers_error"' in page
    assert '<option value="kaiko-prod">kaiko-prod</option>' in page
    assert f'<option value="{production.pk}">Kaiko production</option>' in page


def test_another_team_s_environment_is_not_a_choice(
    owner: User, stranger: User, production: Environment
) -> None:
    response = send(stranger, url="https://{{host}}/x", environment=str(production.pk))
    assert "Select a valid choice" in response.content.decode()
    assert not Run.objects.exists() and not RunEnvironment.objects.exists()


def test_a_run_without_an_environment_notes_none(owner: User, production: Environment) -> None:
    send(owner)
    assert Run.objects.count() == 1 and not RunEnvironment.objects.exists()


def test_a_re_run_from_a_run_offers_the_choices_too(
    owner: User, team: Team, production: Environment
) -> None:
    run = finished_run(team, owner)
    page = client_for(owner).get(f"{NEW}?from={run.pk}").content.decode()
    assert "Kaiko production" in page and '<option value="kaiko-prod">' in page


def test_its_request_saved_keeps_the_reference_and_a_rotation_reaches_it(
    owner: User, secret: VaultSecret
) -> None:
    send(owner, vault_secret="kaiko-prod")
    run = Run.objects.get()
    client = client_for(owner)
    response = client.post(reverse("saved:save_run", args=[run.pk]),
                           {"name": "Trades", "new_collection": "Kaiko"})  # fmt: skip
    saved = SavedRequest.objects.get()
    assert response["Location"] == reverse("saved:request", args=[saved.pk])
    assert secrets.decrypt(saved.secrets_encrypted).api_key == "{{vault:kaiko-prod}}"
    # Opened in the form: the secret is the pick, its value nowhere.
    opened = client.get(reverse("saved:open_request", args=[saved.pk]), follow=True)
    assert VALUE not in opened.content.decode()
    client.post(reverse("vault:rotate", args=[secret.pk]), {"value": "kv-rotated-77"})
    client.post(reverse("saved:run_request", args=[saved.pk]))
    again = Run.objects.exclude(pk=run.pk).get()
    assert secrets.decrypt(again.secrets_encrypted).api_key == "kv-rotated-77"
