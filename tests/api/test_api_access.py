"""Who may use each endpoint: the owner and a teammate (with tokens of the team), a stranger
(a token of another team: 404 for the team's objects, never their data), nobody (no token),
a revoked token and an expired one (401, and the problem says why)."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Membership, Team
from apps.runs.models import Run
from apps.sharing import services as sharing_services
from tests.api.conftest import ApiClient, make_token
from tests.support.factories import finished_run

pytestmark = pytest.mark.django_db

KAIKO_URL = "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges"


def _link_path(run: Run) -> str:
    assert run.created_by is not None
    link, _ = sharing_services.create_link(
        run=run, created_by=run.created_by, visibility="team", lifetime=None
    )
    return f"/api/v1/runs/{run.id}/share-links/{link.id}/revoke"


# (name, method, path of the team's run, JSON body): endpoints that name a run.
RUN_ENDPOINTS: list[tuple[str, str, Callable[[Run], str], object]] = [
    ("get", "get", lambda run: f"/api/v1/runs/{run.id}", None),
    ("retry", "post", lambda run: f"/api/v1/runs/{run.id}/retry", {}),
    ("backoff", "post", lambda run: f"/api/v1/runs/{run.id}/retry-with-backoff", {}),
    ("cancel", "post", lambda run: f"/api/v1/runs/{run.id}/cancel", {}),
    ("reauth", "post", lambda run: f"/api/v1/runs/{run.id}/reauthenticate", {"api_key": "k-1234"}),
    ("share", "post", lambda run: f"/api/v1/runs/{run.id}/share-links", {"lifetime": "1d"}),
    ("links", "get", lambda run: f"/api/v1/runs/{run.id}/share-links", None),
    ("revoke", "post", _link_path, {}),
]
# Endpoints of the token's team as a whole.
TEAM_ENDPOINTS: list[tuple[str, str, str, object]] = [
    ("me", "get", "/api/v1/me", None),
    ("log", "get", "/api/v1/runs", None),
    ("csv", "get", "/api/v1/exports/runs.csv", None),
    ("har", "get", "/api/v1/exports/runs.har", None),
    ("submit", "post", "/api/v1/runs", {"url": KAIKO_URL}),
    ("curl", "post", "/api/v1/runs/curl", {"command": f"curl {KAIKO_URL}"}),
    (
        "diagnose",
        "post",
        "/api/v1/diagnose",
        {"request": {"method": "GET", "url": KAIKO_URL}, "response": {"status": 401}},
    ),
]


def call(client: ApiClient, method: str, path: str, body: object):
    return client.get(path) if method == "get" else client.post(path, body)


@pytest.fixture
def run(team: Team, owner: User) -> Run:
    return finished_run(team, owner, response_status=401)


@pytest.mark.parametrize(("name", "method", "path", "body"), RUN_ENDPOINTS)
@pytest.mark.parametrize("who", ["owner_api", "teammate_api"])
def test_members_use_the_team_runs(
    request: pytest.FixtureRequest, who: str, run: Run, name: str, method: str, path, body
) -> None:
    client = request.getfixturevalue(who)
    response = call(client, method, path(run), body)
    assert response.status_code in {200, 201, 409}, response.content[:500]
    if response.status_code == 409:  # refused for this run's state, said as a problem
        assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(("name", "method", "path", "body"), RUN_ENDPOINTS)
def test_a_stranger_gets_404_for_the_team_runs(
    stranger_api: ApiClient, run: Run, name: str, method: str, path, body
) -> None:
    response = call(stranger_api, method, path(run), body)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert str(run.id) not in response.content.decode()
    assert run.attempts.count() == 1 and not run.share_links.filter(revoked_at__isnull=False)


@pytest.mark.parametrize(("name", "method", "path", "body"), RUN_ENDPOINTS)
@pytest.mark.parametrize("who", ["anonymous_api", "revoked_api", "expired_api"])
def test_no_working_token_gets_401_for_runs(
    request: pytest.FixtureRequest, who: str, run: Run, name: str, method: str, path, body
) -> None:
    response = call(request.getfixturevalue(who), method, path(run), body)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    problem = response.json()
    assert problem["status"] == 401 and problem["detail"]
    assert str(run.id) not in response.content.decode()


@pytest.mark.parametrize(("name", "method", "path", "body"), TEAM_ENDPOINTS)
@pytest.mark.parametrize("who", ["anonymous_api", "revoked_api", "expired_api"])
def test_no_working_token_gets_401_for_team_endpoints(
    request: pytest.FixtureRequest, who: str, name: str, method: str, path: str, body: object
) -> None:
    response = call(request.getfixturevalue(who), method, path, body)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert Run.objects.count() == 0  # nothing was submitted or recorded


@pytest.mark.parametrize(("name", "method", "path", "body"), TEAM_ENDPOINTS)
def test_team_endpoints_see_only_the_token_team(
    stranger_api: ApiClient, run: Run, name: str, method: str, path: str, body: object
) -> None:
    response = call(stranger_api, method, path, body)
    assert response.status_code in {200, 201}, response.content[:500]
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert str(run.id).encode() not in content
    assert not Run.objects.filter(team=run.team).exclude(pk=run.pk).exists()


def test_the_problem_says_why_a_token_does_not_work(
    revoked_api: ApiClient, expired_api: ApiClient, anonymous_api: ApiClient
) -> None:
    assert "revoked" in revoked_api.get("/api/v1/me").json()["detail"]
    assert "expired" in expired_api.get("/api/v1/me").json()["detail"]
    assert "Bearer" in anonymous_api.get("/api/v1/me").json()["detail"]
    wrong = ApiClient("adt_" + "x" * 43).get("/api/v1/me")
    assert wrong.status_code == 401 and "unknown" in wrong.json()["detail"]
    malformed = ApiClient("not-a-token").get("/api/v1/me")
    assert malformed.status_code == 401 and "not an API token" in malformed.json()["detail"]


def test_a_token_stops_working_when_its_user_leaves_the_team(
    teammate: User, team: Team, run: Run
) -> None:
    client = ApiClient(make_token(teammate, team))
    assert client.get(f"/api/v1/runs/{run.id}").status_code == 200
    Membership.objects.filter(user=teammate, team=team).delete()
    response = client.get(f"/api/v1/runs/{run.id}")
    assert response.status_code == 401
    assert "no longer a member" in response.json()["detail"]


def test_a_token_of_one_team_does_not_reach_the_users_other_team(
    owner: User, team: Team, other_team: Team
) -> None:
    """A user in two teams: the token made for one team gets 404 for the other's runs."""
    Membership.objects.create(user=owner, team=other_team)
    elsewhere = finished_run(other_team, owner)
    client = ApiClient(make_token(owner, team))
    assert client.get(f"/api/v1/runs/{elsewhere.id}").status_code == 404
    log = client.get("/api/v1/runs").json()
    assert str(elsewhere.id) not in {row["id"] for row in log["runs"]}


@pytest.mark.parametrize(
    ("method", "path"),
    [("delete", "/api/v1/runs"), ("put", "/api/v1/me"), ("get", "/api/v1/diagnose")],
)
def test_a_method_an_address_does_not_answer_is_a_problem_with_allow(
    owner_api: ApiClient, method: str, path: str
) -> None:
    response = getattr(owner_api.client, method)(path, headers=owner_api.headers)
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 405 and method.upper() in problem["detail"]
    assert response["Allow"] and response["Allow"] in problem["detail"]
