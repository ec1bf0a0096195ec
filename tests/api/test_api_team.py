"""The API's team: every member lists the members; owners list, make (link shown once) and
revoke invites; a member who is not an owner is refused with 403, another team's invite is
not found; a revoked invite's link no longer works."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.accounts import services
from apps.accounts.models import Invite, Membership, Team
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


def _membership(user: User, team: Team) -> Membership:
    return Membership.objects.get(user=user, team=team)


def test_an_owner_changes_roles_but_the_team_keeps_an_owner(
    owner_api: ApiClient, owner: User, teammate: User, team: Team
) -> None:
    mine, theirs = _membership(owner, team), _membership(teammate, team)
    alone = owner_api.post(f"/api/v1/team/members/{mine.pk}/role", {"role": "member"})
    assert alone.status_code == 409 and "needs an owner" in alone.json()["detail"]
    made = owner_api.post(f"/api/v1/team/members/{theirs.pk}/role", {"role": "owner"})
    assert made.status_code == 200 and made.json()["role"] == "owner"
    theirs.refresh_from_db()
    assert theirs.is_owner
    bad = owner_api.post(f"/api/v1/team/members/{theirs.pk}/role", {"role": "admin"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "role"


def test_an_owner_removes_a_member_whose_token_then_stops_working(
    owner_api: ApiClient, teammate_api: ApiClient, owner: User, teammate: User, team: Team
) -> None:
    theirs = _membership(teammate, team)
    client = owner_api.client
    response = client.delete(f"/api/v1/team/members/{theirs.pk}", headers=owner_api.headers)
    assert response.status_code == 204
    assert not Membership.objects.filter(pk=theirs.pk).exists()
    assert teammate_api.get("/api/v1/me").status_code == 401
    mine = _membership(owner, team)
    last = client.delete(f"/api/v1/team/members/{mine.pk}", headers=owner_api.headers)
    assert last.status_code == 409 and Membership.objects.filter(pk=mine.pk).exists()


def test_members_cannot_change_roles_remove_or_change_settings(
    teammate_api: ApiClient, owner: User, team: Team
) -> None:
    mine = _membership(owner, team)
    responses = [
        teammate_api.post(f"/api/v1/team/members/{mine.pk}/role", {"role": "member"}),
        teammate_api.client.delete(f"/api/v1/team/members/{mine.pk}", headers=teammate_api.headers),
        teammate_api.client.put(
            "/api/v1/team/settings", {"send_traceparent": True},
            content_type="application/json", headers=teammate_api.headers,
        ),
    ]  # fmt: skip
    assert [r.status_code for r in responses] == [403, 403, 403]
    mine.refresh_from_db()
    team.refresh_from_db()
    assert mine.is_owner and team.send_traceparent is False


def test_another_teams_member_is_not_found(
    stranger_api: ApiClient, teammate: User, team: Team
) -> None:
    theirs = _membership(teammate, team)
    assert (
        stranger_api.post(f"/api/v1/team/members/{theirs.pk}/role", {"role": "owner"}).status_code
        == 404
    )
    gone = stranger_api.client.delete(
        f"/api/v1/team/members/{theirs.pk}", headers=stranger_api.headers
    )
    assert gone.status_code == 404
    theirs.refresh_from_db()
    assert not theirs.is_owner


def test_an_owner_changes_the_teams_settings(owner_api: ApiClient, team: Team) -> None:
    assert owner_api.get("/api/v1/team/settings").json() == {
        "team": team.name,
        "send_traceparent": False,
    }
    response = owner_api.client.put(
        "/api/v1/team/settings", {"send_traceparent": True},
        content_type="application/json", headers=owner_api.headers,
    )  # fmt: skip
    assert response.status_code == 200 and response.json()["send_traceparent"] is True
    team.refresh_from_db()
    assert team.send_traceparent is True


def test_a_member_leaves_and_the_last_owner_cannot(
    owner_api: ApiClient, teammate_api: ApiClient, owner: User, teammate: User, team: Team
) -> None:
    last = owner_api.post("/api/v1/team/leave")
    assert last.status_code == 409 and "needs an owner" in last.json()["detail"]
    assert Membership.objects.filter(user=owner, team=team).exists()
    assert teammate_api.post("/api/v1/team/leave").status_code == 204
    assert not Membership.objects.filter(user=teammate, team=team).exists()
    assert teammate_api.get("/api/v1/me").status_code == 401
