"""The JSON API's Try the fix: the fix in a run's diagnosis, the try-fix endpoint, and the
follow-up's `tried_fix` (change, diff, proven or not)."""

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Team
from apps.runs.models import Run
from tests.api.conftest import ApiClient
from tests.web.test_runs_try_fix import CAUSE, KEY, key_in_query_run

pytestmark = pytest.mark.django_db


def test_it_shows_the_fix_in_the_runs_diagnosis(
    owner_api: ApiClient, team: Team, owner: User
) -> None:
    run = key_in_query_run(team, owner)
    answer = owner_api.get(f"/api/v1/runs/{run.id}").json()
    fix = answer["diagnosis"]["causes"][0]["fix"]
    assert fix["kind"] == "move_key_to_header"
    assert fix["changes"] == {"from_param": "api_key", "to_header": "X-Api-Key"}
    assert fix["same_host"] is True
    assert answer["tried_fix"] is None


def test_it_tries_the_fix_as_a_new_run(owner_api: ApiClient, team: Team, owner: User) -> None:
    run = key_in_query_run(team, owner)
    response = owner_api.post(f"/api/v1/runs/{run.id}/try-fix", {"cause": CAUSE}, wait=0)
    assert response.status_code == 201
    answer = response.json()
    assert str(answer["id"]) != str(run.id)
    tried = answer["tried_fix"]
    assert tried["cause"] == CAUSE
    assert tried["source"] == str(run.id)
    assert {"sign": "+", "part": "header", "text": "X-Api-Key: [redacted]"} in tried["diff"]
    assert {"sign": "-", "part": "param", "text": "api_key=[redacted]"} in tried["diff"]
    assert tried["outcome"]["state"] == "pending"
    assert KEY not in response.content.decode()
    Run.objects.filter(pk=answer["id"]).update(
        status=Run.Status.DONE, outcome=Run.Outcome.RESPONSE, response_status=200, severity="ok"
    )
    later = owner_api.get(f"/api/v1/runs/{answer['id']}").json()["tried_fix"]["outcome"]
    assert later == {
        "state": "proven",
        "text": "proven: 200 after moving the key to `X-Api-Key`",
    }


def test_it_answers_409_for_a_cause_without_a_fix(
    owner_api: ApiClient, team: Team, owner: User
) -> None:
    run = key_in_query_run(team, owner)
    response = owner_api.post(f"/api/v1/runs/{run.id}/try-fix", {"cause": "kaiko.401.x"})
    assert response.status_code == 409
    assert "no fix to try" in response.json()["detail"]
    assert Run.objects.count() == 1


def test_it_answers_404_for_another_teams_run(
    stranger_api: ApiClient, team: Team, owner: User
) -> None:
    run = key_in_query_run(team, owner)
    response = stranger_api.post(f"/api/v1/runs/{run.id}/try-fix", {"cause": CAUSE})
    assert response.status_code == 404
    assert Run.objects.count() == 1


def test_it_needs_a_token(anonymous_api: ApiClient, team: Team, owner: User) -> None:
    run = key_in_query_run(team, owner)
    response = anonymous_api.post(f"/api/v1/runs/{run.id}/try-fix", {"cause": CAUSE})
    assert response.status_code == 401
    assert Run.objects.count() == 1


def test_it_names_the_missing_field(owner_api: ApiClient, team: Team, owner: User) -> None:
    run = key_in_query_run(team, owner)
    response = owner_api.post(f"/api/v1/runs/{run.id}/try-fix", {})
    assert response.status_code in (400, 422)
    assert "cause" in response.content.decode()
