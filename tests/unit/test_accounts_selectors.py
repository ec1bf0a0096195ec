"""apps/accounts/selectors.py: who belongs to a team, and who owns it."""

import pytest
from django.contrib.auth.models import AnonymousUser, User

from apps.accounts.models import Membership, Team
from apps.accounts.selectors import is_member, is_owner

pytestmark = pytest.mark.django_db


def test_only_an_owner_of_the_team_is_its_owner(
    team: Team, other_team: Team, owner: User, teammate: User, stranger: User
) -> None:
    assert is_owner(user=owner, team_id=team.pk)
    assert not is_owner(user=teammate, team_id=team.pk)  # a member, not an owner
    assert not is_owner(user=stranger, team_id=team.pk)  # owns another team only
    assert is_owner(user=stranger, team_id=other_team.pk)
    assert not is_owner(user=owner, team_id=other_team.pk)
    assert not is_owner(user=AnonymousUser(), team_id=team.pk)


def test_a_member_made_owner_is_one_and_made_member_again_is_not(
    team: Team, teammate: User
) -> None:
    membership = Membership.objects.get(user=teammate, team=team)
    membership.role = Membership.Role.OWNER
    membership.save()
    assert is_owner(user=teammate, team_id=team.pk) and is_member(user=teammate, team_id=team.pk)
    membership.role = Membership.Role.MEMBER
    membership.save()
    assert not is_owner(user=teammate, team_id=team.pk)
    assert is_member(user=teammate, team_id=team.pk)
