from django.urls import path

from apps.accounts import views

app_name = "accounts"

urlpatterns = [
    path("teams/", views.teams, name="teams"),
    path("teams/new/", views.create_team, name="create_team"),
    path("teams/switch/", views.switch_team, name="switch_team"),
    path("teams/<uuid:team_id>/", views.team_detail, name="team"),
    path("teams/<uuid:team_id>/leave/", views.leave_team, name="leave_team"),
    path("teams/<uuid:team_id>/settings/", views.change_settings, name="change_settings"),
    path("teams/<uuid:team_id>/invites/", views.create_invite, name="create_invite"),
    path(
        "teams/<uuid:team_id>/invites/<uuid:invite_id>/revoke/",
        views.revoke_invite,
        name="revoke_invite",
    ),
    path(
        "teams/<uuid:team_id>/members/<int:membership_id>/remove/",
        views.remove_member,
        name="remove_member",
    ),
    path(
        "teams/<uuid:team_id>/members/<int:membership_id>/role/",
        views.change_role,
        name="change_role",
    ),
    path("invites/<str:token>/", views.join_team, name="join"),
    path("accounts/signup/", views.sign_up, name="signup"),
]
