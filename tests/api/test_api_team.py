"""The API's team: every member lists the members; owners list, make (link shown once) and
revoke invites; a member who is not an owner is refused with 403, another team's invite is
not found; a revoked invite's link no longer works."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.accounts import services
from apps.accounts.models import Invite, Team
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


def test_members_are_listed_owners_first(
    teammate_api: ApiClient, owner: User, teammate: User
) -> None:
    response = teammate_api.get("/api/v1/team/members")
    assert response.status_code == 200
    assert [(m["user"], m["role"], m["you"]) for m in response.json()] == [
        (owner.username, "owner", False),
        (teammate.username, "member", True),
    ]


def test_an_owner_invites_and_the_link_is_shown_once(
    owner_api: ApiClient, team: Team, owner: User
) -> None:
    response = owner_api.post("/api/v1/team/invites", {"lifetime": "1"})
    assert response.status_code == 201, response.content
    made = response.json()
    invite = Invite.objects.get(team=team)
    assert made["id"] == str(invite.pk) and made["created_by"] == owner.username
    assert (invite.expires_at - invite.created_at).days in (0, 1)
    join = made["link"].removeprefix("http://testserver")
    assert Client().get(join).status_code == 200  # the link opens the join page
    listed = owner_api.get("/api/v1/team/invites").json()
    assert [i["id"] for i in listed] == [made["id"]] and "link" not in listed[0]


def test_a_revoked_invites_link_no_longer_works(owner_api: ApiClient, team: Team) -> None:
    made = owner_api.post("/api/v1/team/invites", {}).json()
    response = owner_api.post(f"/api/v1/team/invites/{made['id']}/revoke")
    assert response.status_code == 200 and response.json()["revoked_at"]
    assert owner_api.get("/api/v1/team/invites").json() == []
    assert Client().get(made["link"].removeprefix("http://testserver")).status_code != 200
    assert owner_api.post(f"/api/v1/team/invites/{made['id']}/revoke").status_code == 404


def test_a_bad_lifetime_is_a_problem_naming_it(owner_api: ApiClient, team: Team) -> None:
    response = owner_api.post("/api/v1/team/invites", {"lifetime": "365"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lifetime"
    assert not Invite.objects.exists()


def test_a_member_who_is_not_an_owner_is_refused(
    teammate_api: ApiClient, team: Team, owner: User
) -> None:
    invite, _ = services.create_invite(team=team, created_by=owner, lifetime=timedelta(days=7))
    for response in (
        teammate_api.get("/api/v1/team/invites"),
        teammate_api.post("/api/v1/team/invites", {}),
        teammate_api.post(f"/api/v1/team/invites/{invite.pk}/revoke"),
    ):
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"
        assert "owners" in response.json()["detail"]
    assert Invite.objects.count() == 1
    invite.refresh_from_db()
    assert invite.revoked_at is None


def test_another_teams_invite_is_not_found_and_its_members_not_listed(
    stranger_api: ApiClient, team: Team, owner: User
) -> None:
    invite, _ = services.create_invite(team=team, created_by=owner, lifetime=timedelta(days=7))
    assert stranger_api.post(f"/api/v1/team/invites/{invite.pk}/revoke").status_code == 404
    invite.refresh_from_db()
    assert invite.revoked_at is None
    assert owner.username not in stranger_api.get("/api/v1/team/members").content.decode()
    assert stranger_api.get("/api/v1/team/invites").json() == []
