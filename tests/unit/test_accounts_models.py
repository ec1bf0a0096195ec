"""The pure pieces of invites and team scoping: token hashing, token shape, usability,
and `for_team()` refusing to run without a saved team."""

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from apps.accounts.models import Invite, Membership, Team, hash_invite_token
from apps.accounts.selectors import TOKEN_SHAPE

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_it_hashes_tokens_to_a_fixed_length_digest() -> None:
    token = secrets.token_urlsafe(32)
    digest = hash_invite_token(token)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest == hash_invite_token(token)
    assert token not in digest
    assert digest != hash_invite_token(token + "x")


def test_it_recognises_the_shape_of_a_token() -> None:
    for _ in range(50):
        assert TOKEN_SHAPE.fullmatch(secrets.token_urlsafe(32))
    for junk in ["", "short", "a" * 101, "has space in it and more", "x/../y" * 5, "é" * 43]:
        assert not TOKEN_SHAPE.fullmatch(junk)


@pytest.mark.parametrize(
    ("fields", "usable"),
    [
        ({}, True),
        ({"expires_at": NOW}, False),
        ({"expires_at": NOW - timedelta(seconds=1)}, False),
        ({"used_at": NOW - timedelta(hours=1)}, False),
        ({"revoked_at": NOW - timedelta(hours=1)}, False),
    ],
)
def test_it_knows_when_an_invite_can_be_used(fields: dict[str, object], usable: bool) -> None:
    invite = Invite(**{"expires_at": NOW + timedelta(days=1), **fields})
    assert invite.is_usable(NOW) is usable


@pytest.mark.parametrize("team", [None, "00000000-0000-0000-0000-000000000000", Team()])
def test_it_refuses_team_scoped_reads_without_a_saved_team(team: object) -> None:
    with pytest.raises(TypeError, match="needs a saved Team"):
        Invite.objects.for_team(team)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs a saved Team"):
        Membership.objects.for_team(team)  # type: ignore[arg-type]
