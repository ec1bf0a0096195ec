"""Try the fix: the action on a run whose diagnosis names a mechanical fix; who may use it."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Team
from apps.runs import secrets
from apps.runs.models import Run
from tests.support.clients import client_for
from tests.support.factories import finished_run

pytestmark = pytest.mark.django_db

KEY = "k-secret-try-fix-1"
CAUSE = "kaiko.401.key_in_query"


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()  # submission rate-limit counters of earlier tests


def key_in_query_diagnosis(fix: dict[str, object] | None = None) -> dict[str, object]:
    fix = fix or {
        "kind": "move_key_to_header",
        "summary": "Move the key from the query parameter `api_key` to the header `X-Api-Key`.",
        "changes": {"from_param": "api_key", "to_header": "X-Api-Key"},
        "same_host": True,
    }
    return {
        "code": CAUSE, "severity": "error", "title": "The key was sent in the query string",
        "profile": "kaiko", "profile_name": "Kaiko market-data API", "status": 401,
        "causes": [{"code": CAUSE, "title": "The key is in the query string", "fix": fix}],
    }  # fmt: skip


def key_in_query_run(team: Team, user: User, fix: dict[str, object] | None = None) -> Run:
    return finished_run(
        team,
        user,
        run={
            "query": [["api_key", "[redacted]"], ["page_size", "10"]],
            "secrets_encrypted": secrets.encrypt(secrets.RunSecrets(params=[("api_key", KEY)])),
        },
        response_status=401,
        diagnosis=key_in_query_diagnosis(fix),
    )


def test_it_offers_the_fix_on_the_run_page(team: Team, owner: User) -> None:
    run = key_in_query_run(team, owner)
    page = client_for(owner).get(reverse("runs:detail", args=[run.id])).content.decode()
    assert "Try the fix" in page
    assert reverse("runs:try_fix", args=[run.id]) in page
    assert f'name="cause" value="{CAUSE}"' in page


def test_it_creates_a_follow_up_run_with_exactly_that_change(
    team: Team, owner: User, django_capture_on_commit_callbacks: object
) -> None:
    run = key_in_query_run(team, owner)
    with django_capture_on_commit_callbacks() as callbacks:  # type: ignore[operator]
        response = client_for(owner).post(reverse("runs:try_fix", args=[run.id]), {"cause": CAUSE})
    followup = Run.objects.exclude(pk=run.pk).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("runs:detail", args=[followup.id])
    assert len(callbacks) == 1  # enqueued like any submission
    assert followup.source_id == run.id
    assert followup.fix["kind"] == "move_key_to_header"
    assert followup.fix["cause"] == CAUSE
    assert followup.query == [["page_size", "10"]]
    assert followup.request_headers == [["X-Api-Key", "[redacted]"]]
    assert secrets.decrypt(followup.secrets_encrypted).headers == [("X-Api-Key", KEY)]
    for column, value in Run.objects.filter(pk=followup.pk).values().get().items():
        if column != "secrets_encrypted":
            assert KEY not in str(value), column
    page = client_for(owner).get(response["Location"]).content.decode()
    assert "- param api_key=[redacted]" in page
    assert "+ header X-Api-Key: [redacted]" in page
    assert "not proven yet" in page
    assert KEY not in page


def test_it_shows_proven_on_the_follow_up_and_the_original(team: Team, owner: User) -> None:
    run = key_in_query_run(team, owner)
    client_for(owner).post(reverse("runs:try_fix", args=[run.id]), {"cause": CAUSE})
    followup = Run.objects.exclude(pk=run.pk).get()
    Run.objects.filter(pk=followup.pk).update(
        status=Run.Status.DONE, outcome=Run.Outcome.RESPONSE, response_status=200, severity="ok"
    )
    proven = "proven: 200 after moving the key to <code>X-Api-Key</code>"
    for shown in (followup, run):
        page = client_for(owner).get(reverse("runs:detail", args=[shown.id])).content.decode()
        assert proven in page, shown


def test_it_shows_not_proven_when_the_status_stays(team: Team, owner: User) -> None:
    run = key_in_query_run(team, owner)
    client_for(owner).post(reverse("runs:try_fix", args=[run.id]), {"cause": CAUSE})
    followup = Run.objects.exclude(pk=run.pk).get()
    Run.objects.filter(pk=followup.pk).update(
        status=Run.Status.DONE, outcome=Run.Outcome.RESPONSE, response_status=401, severity="error"
    )
    page = client_for(owner).get(reverse("runs:detail", args=[followup.id])).content.decode()
    assert "not proven: still 401" in page


def test_it_refuses_a_cause_without_a_fix(team: Team, owner: User) -> None:
    run = key_in_query_run(team, owner)
    response = client_for(owner).post(
        reverse("runs:try_fix", args=[run.id]), {"cause": "kaiko.401.other"}, follow=True
    )
    assert "no fix to try" in response.content.decode()
    assert Run.objects.count() == 1


def test_it_refuses_to_send_the_credentials_to_another_host(team: Team, owner: User) -> None:
    moved = {
        "kind": "use_url", "summary": "Send the request to `https://elsewhere.example/v2/x`.",
        "changes": {"url": "https://elsewhere.example/v2/x"}, "same_host": False,
    }  # fmt: skip
    run = key_in_query_run(team, owner, fix=moved)
    page = client_for(owner).get(reverse("runs:detail", args=[run.id])).content.decode()
    assert "never sent to another host" in page
    assert reverse("runs:try_fix", args=[run.id]) not in page
    response = client_for(owner).post(
        reverse("runs:try_fix", args=[run.id]), {"cause": CAUSE}, follow=True
    )
    assert "never sent to another host" in response.content.decode()
    assert Run.objects.count() == 1


def test_it_refuses_to_send_the_credentials_over_plain_http(team: Team, owner: User) -> None:
    downgrade = {
        "kind": "use_url", "summary": "Send the request to `http://us.market-api.kaiko.io/v2/x`.",
        "changes": {"url": "http://us.market-api.kaiko.io/v2/x"}, "same_host": False,
    }  # fmt: skip
    run = key_in_query_run(team, owner, fix=downgrade)
    response = client_for(owner).post(
        reverse("runs:try_fix", args=[run.id]), {"cause": CAUSE}, follow=True
    )
    assert "never sent in clear" in response.content.decode()
    assert Run.objects.count() == 1


def test_it_lets_a_teammate_try_the_fix(team: Team, owner: User, teammate: User) -> None:
    run = key_in_query_run(team, owner)
    response = client_for(teammate).post(reverse("runs:try_fix", args=[run.id]), {"cause": CAUSE})
    assert response.status_code == 302
    assert Run.objects.filter(source=run, created_by=teammate).count() == 1


def test_it_answers_404_to_another_team(team: Team, owner: User, stranger: User) -> None:
    run = key_in_query_run(team, owner)
    response = client_for(stranger).post(reverse("runs:try_fix", args=[run.id]), {"cause": CAUSE})
    assert response.status_code == 404
    assert Run.objects.count() == 1


def test_it_sends_anonymous_users_to_sign_in(team: Team, owner: User) -> None:
    run = key_in_query_run(team, owner)
    response = client_for(None).post(reverse("runs:try_fix", args=[run.id]), {"cause": CAUSE})
    assert response.status_code == 302
    assert "/login" in response["Location"] or "login" in response["Location"]
    assert Run.objects.count() == 1


def test_it_takes_post_only(team: Team, owner: User) -> None:
    run = key_in_query_run(team, owner)
    response = client_for(owner).get(reverse("runs:try_fix", args=[run.id]))
    assert response.status_code == 405
    assert Run.objects.count() == 1


def test_it_needs_the_csrf_token(team: Team, owner: User) -> None:
    run = key_in_query_run(team, owner)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(reverse("runs:try_fix", args=[run.id]), {"cause": CAUSE})
    assert response.status_code == 403
    assert Run.objects.count() == 1


def test_it_tells_apart_causes_of_the_same_code_by_their_place(team: Team, owner: User) -> None:
    invalid = "openapi.param.invalid"

    def cause(param: str, value: str) -> dict[str, object]:
        return {"code": invalid, "title": f"bad {param}", "fix": {
            "kind": "set_param", "summary": f"Set `{param}` to `{value}`.",
            "changes": {"param": param, "value": value}}}  # fmt: skip

    diagnosis = {**key_in_query_diagnosis(), "causes": [cause("sort", "asc"), cause("n", "1")]}
    run = finished_run(team, owner, run={"query": [["sort", "ASC"], ["n", "0"]]},
                       response_status=400, diagnosis=diagnosis)  # fmt: skip
    page = client_for(owner).get(reverse("runs:detail", args=[run.id])).content.decode()
    assert 'name="index" value="1"' in page
    response = client_for(owner).post(
        reverse("runs:try_fix", args=[run.id]), {"cause": invalid, "index": "1"}
    )
    assert response.status_code == 302
    assert Run.objects.exclude(pk=run.pk).get().query == [["sort", "ASC"], ["n", "1"]]


def test_it_refuses_to_move_a_key_to_a_header_it_would_store_in_clear(
    team: Team, owner: User
) -> None:
    fix = {
        "kind": "move_key_to_header", "summary": "Move the key to `X-Client`.",
        "changes": {"from_param": "api_key", "to_header": "X-Client"}, "same_host": True,
    }  # fmt: skip
    run = key_in_query_run(team, owner, fix=fix)
    page = client_for(owner).get(reverse("runs:detail", args=[run.id])).content.decode()
    assert "stored in clear" in page
    assert reverse("runs:try_fix", args=[run.id]) not in page
    response = client_for(owner).post(
        reverse("runs:try_fix", args=[run.id]), {"cause": CAUSE}, follow=True
    )
    assert "stored in clear" in response.content.decode()
    assert Run.objects.count() == 1
