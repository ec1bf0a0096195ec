"""The API's tokens: the caller lists their tokens in the token's team (an owner also sees
the members'), never a value; revokes one (theirs, or as an owner a member's), after which
it answers 401; any other token is not found and keeps working."""

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Membership, Team
from apps.api.models import ApiToken
from tests.api.conftest import ApiClient, make_token

pytestmark = pytest.mark.django_db


def test_the_caller_lists_their_tokens_in_the_team_never_a_value(
    owner: User, team: Team, other_team: Team
) -> None:
    value = make_token(owner, team)
    Membership.objects.create(user=owner, team=other_team)
    make_token(owner, other_team)  # another team's: not listed with this team's token
    response = ApiClient(value).get("/api/v1/tokens")
    assert response.status_code == 200
    (listed,) = response.json()
    token = ApiToken.objects.get(token_hash__isnull=False, team=team)
    assert listed["id"] == str(token.pk) and listed["team"] == team.name
    assert listed["current"] is True and listed["state"] == "active"
    assert value.startswith(listed["hint"]) and len(listed["hint"]) < 12
    assert (
        value not in response.content.decode() and token.token_hash not in response.content.decode()
    )


def test_an_owner_also_sees_the_members_tokens_a_member_only_theirs(
    owner: User, teammate: User, team: Team
) -> None:
    owner_value, teammate_value = make_token(owner, team), make_token(teammate, team)
    as_owner = ApiClient(owner_value).get("/api/v1/tokens").json()
    assert sorted(t["user"] for t in as_owner) == sorted([owner.username, teammate.username])
    as_teammate = ApiClient(teammate_value).get("/api/v1/tokens").json()
    assert [t["user"] for t in as_teammate] == [teammate.username]


def test_a_revoked_token_stops_working(owner: User, team: Team) -> None:
    keep, spare = make_token(owner, team), make_token(owner, team)
    spare_id = ApiToken.objects.get(hint=spare[:8], user=owner).pk
    caller = ApiClient(keep)
    response = caller.post(f"/api/v1/tokens/{spare_id}/revoke")
    assert response.status_code == 200
    assert response.json()["state"] == "revoked" and response.json()["revoked_at"]
    assert ApiClient(spare).get("/api/v1/me").status_code == 401
    # Again: still revoked, no error.
    assert caller.post(f"/api/v1/tokens/{spare_id}/revoke").json()["state"] == "revoked"
    # Its own token too: the next call answers 401.
    own_id = ApiToken.objects.get(hint=keep[:8], user=owner).pk
    assert caller.post(f"/api/v1/tokens/{own_id}/revoke").status_code == 200
    assert caller.get("/api/v1/me").status_code == 401


def test_an_owner_revokes_a_members_token_a_member_cannot_revoke_the_owners(
    owner: User, teammate: User, team: Team
) -> None:
    owner_value, teammate_value = make_token(owner, team), make_token(teammate, team)
    owner_token = ApiToken.objects.get(user=owner)
    teammate_token = ApiToken.objects.get(user=teammate)
    refused = ApiClient(teammate_value).post(f"/api/v1/tokens/{owner_token.pk}/revoke")
    assert refused.status_code == 404
    assert ApiClient(owner_value).get("/api/v1/me").status_code == 200
    revoked = ApiClient(owner_value).post(f"/api/v1/tokens/{teammate_token.pk}/revoke")
    assert revoked.status_code == 200 and revoked.json()["user"] == teammate.username
    assert ApiClient(teammate_value).get("/api/v1/me").status_code == 401


def test_a_stranger_or_another_teams_token_cannot_reach_a_token(
    owner: User, team: Team, other_team: Team, stranger_api: ApiClient
) -> None:
    value = make_token(owner, team)
    token = ApiToken.objects.get(user=owner)
    assert stranger_api.post(f"/api/v1/tokens/{token.pk}/revoke").status_code == 404
    Membership.objects.create(user=owner, team=other_team)
    elsewhere = ApiClient(make_token(owner, other_team))
    assert elsewhere.post(f"/api/v1/tokens/{token.pk}/revoke").status_code == 404
    assert str(token.pk) not in elsewhere.get("/api/v1/tokens").content.decode()
    assert ApiClient(value).get("/api/v1/me").status_code == 200
