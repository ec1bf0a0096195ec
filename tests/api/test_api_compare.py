"""The API's Compare: two runs of the team, how their requests and latest outcomes differ,
as the Compare page shows them; null until both have a finished attempt; redacted by the
runs' own secret values; another team's run is not found."""

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Team
from apps.runs import secrets
from tests.api.conftest import ApiClient
from tests.support.factories import finished_run, make_run

pytestmark = pytest.mark.django_db
KEY = "k-compare-secret-9d1e"


def test_it_compares_a_failing_run_with_its_fix(
    owner_api: ApiClient, owner: User, team: Team
) -> None:
    earlier = finished_run(
        team, owner, response_status=401, response_body='{"message": "no key"}',
        response_headers=[["Content-Type", "application/json"], ["WWW-Authenticate", "Key"]],
    )  # fmt: skip
    this = finished_run(
        team, owner, run={"has_api_key": True,
                          "secrets_encrypted": secrets.encrypt(secrets.RunSecrets(api_key=KEY))},
        response_body='{"result": "success", "echo": "' + KEY + '"}',
    )  # fmt: skip
    response = owner_api.get(f"/api/v1/runs/{this.id}/compare/{earlier.id}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["page"].endswith(f"/runs/{this.id}/compare/{earlier.id}/")
    found = body["comparison"]
    assert (found["earlier"]["status"], found["this"]["status"]) == (401, 200)
    assert found["same_status"] is False and found["fixed"] is True
    assert {"what": "API key (X-Api-Key)", "earlier": None, "this": "sent"} in found["request"]
    assert {"name": "www-authenticate", "earlier": "Key", "this": None} in found["headers"]
    added = [line["text"] for line in found["body_diff"] if line["kind"] == "add"]
    assert any('"result": "success"' in text for text in added), found["body_diff"]
    # The key echoed in the body is the run's own secret: never in the answer.
    assert KEY not in response.content.decode() and "[redacted]" in response.content.decode()


def test_the_same_outcome_twice_has_no_difference(
    owner_api: ApiClient, owner: User, team: Team
) -> None:
    first, second = finished_run(team, owner), finished_run(team, owner)
    found = owner_api.get(f"/api/v1/runs/{second.id}/compare/{first.id}").json()["comparison"]
    assert found["same_status"] is True and found["fixed"] is False
    assert found["request"] == [] and found["headers"] == [] and found["body_diff"] == []


def test_a_run_not_finished_has_nothing_to_compare_yet(
    owner_api: ApiClient, owner: User, team: Team
) -> None:
    done, queued = finished_run(team, owner), make_run(team, owner)
    response = owner_api.get(f"/api/v1/runs/{queued.id}/compare/{done.id}")
    assert response.status_code == 200 and response.json()["comparison"] is None


def test_another_teams_run_is_not_found_on_either_side(
    owner_api: ApiClient, stranger_api: ApiClient, owner: User, team: Team,
    stranger: User, other_team: Team,
) -> None:  # fmt: skip
    ours, theirs = finished_run(team, owner), finished_run(other_team, stranger)
    for path in (f"{ours.id}/compare/{theirs.id}", f"{theirs.id}/compare/{ours.id}"):
        response = owner_api.get(f"/api/v1/runs/{path}")
        assert response.status_code == 404 and str(theirs.id) not in response.content.decode()
    assert stranger_api.get(f"/api/v1/runs/{ours.id}/compare/{ours.id}").status_code == 404
