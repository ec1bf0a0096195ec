"""Key rotation covers monitors' secrets, channels' URLs and signing keys."""

from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.contrib.auth.models import User
from django.core.management import call_command

from apps.accounts.models import Team
from apps.monitors import services
from apps.monitors.models import AlertChannel
from apps.runs import secrets

pytestmark = pytest.mark.django_db


def test_rotated_values_open_with_the_new_key_alone(team: Team, owner: User, settings: Any) -> None:
    settings.EGRESS_ALLOWLIST = ["127.0.0.1"]
    channel, key = services.create_channel(
        team=team, user=owner, name="h", kind="webhook", target="http://127.0.0.1:9/hook"
    )
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_monitor_keys")
    settings.FIELD_ENCRYPTION_KEYS = [new]
    channel = AlertChannel.objects.get(pk=channel.pk)
    assert secrets.fernet().decrypt(bytes(channel.target_encrypted)) == b"http://127.0.0.1:9/hook"
    assert secrets.fernet().decrypt(bytes(channel.signing_key_encrypted)).decode() == key
    with pytest.raises(InvalidToken):
        Fernet(old.encode()).decrypt(bytes(channel.target_encrypted))
