from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from apps.accounts.models import Team


def current_team_for_user(*, user: AbstractBaseUser | AnonymousUser) -> Team | None:
    """The team whose data the user is working in: their first team, or None.

    Every read and write of team data names a team obtained from here (or checked against
    the user's memberships), so a user without a team sees nothing rather than everything.
    """
    if not user.is_authenticated:
        return None
    return Team.objects.filter(membership__user=user).order_by("membership__created_at").first()


def is_member(*, user: AbstractBaseUser | AnonymousUser, team_id: object) -> bool:
    if not user.is_authenticated:
        return False
    return Team.objects.filter(pk=team_id, membership__user=user).exists()
