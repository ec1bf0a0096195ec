import uuid

from django.contrib.auth.models import AnonymousUser, User
from django.http import Http404

from apps.accounts.models import Team
from apps.vault.models import VaultEvent, VaultSecret


def secrets_of(*, team: Team) -> list[VaultSecret]:
    return list(VaultSecret.objects.for_team(team).defer("value_encrypted"))


def get_secret_for_user(*, user: User | AnonymousUser, secret_id: uuid.UUID) -> VaultSecret:
    """The secret if the user is a member of its team; Http404 otherwise."""
    if not user.is_authenticated:
        raise Http404("No such secret")
    secret = (
        VaultSecret.objects.filter(pk=secret_id, team__membership__user=user)
        .select_related("team")
        .first()
    )
    if secret is None:
        raise Http404("No such secret")
    return secret


def events_of(
    *, team: Team, secret: VaultSecret | None = None, limit: int = 100
) -> list[VaultEvent]:
    events = VaultEvent.objects.for_team(team).select_related("user")
    if secret is not None:
        events = events.filter(secret_name=secret.name)
    return list(events[:limit])
