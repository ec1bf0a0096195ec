"""apps/runs/secrets.py: what a run sends but never stores in clear, encrypted with the
project's keys (the first encrypts, every one decrypts), and every value to remove."""

from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken

from apps.runs.secrets import RunSecrets, decrypt, encrypt

ALL = RunSecrets(
    api_key="k-api-0123456789",
    headers=[("Authorization", "Bearer t-bearer-0123"), ("Cookie", "a=1; session=s-cookie-99")],
    params=[("token", "q-param-4567")],
    body='{"password": "b-body-secret"}',
    body_values=["b-body-secret"],
    url="https://api.example.com/x?token=q-param-4567",
)


def test_the_values_are_each_secret_and_the_parts_of_it_that_may_be_echoed() -> None:
    values = ALL.values()
    assert values[0] == "k-api-0123456789"
    for part in ("Bearer t-bearer-0123", "t-bearer-0123", "s-cookie-99", "q-param-4567"):
        assert part in values
    assert "b-body-secret" in values
    assert len(values) == len(set(values)) and "" not in values
    assert RunSecrets(headers=[("X-Custom", "")]).values() == []


def test_it_round_trips_and_the_token_holds_no_value_in_clear() -> None:
    token = encrypt(ALL)
    assert decrypt(token) == ALL
    assert decrypt(memoryview(token)) == ALL
    for value in ALL.values():
        assert len(value) < 4 or value.encode() not in token  # "1" of the cookie "a=1"


def test_nothing_secret_is_stored_as_nothing() -> None:
    assert encrypt(RunSecrets()) == b""
    assert encrypt(RunSecrets(headers=[("Authorization", "")])) == b""
    assert decrypt(b"") == RunSecrets()


def test_a_new_key_first_still_reads_what_an_old_key_wrote(settings: Any) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    token = encrypt(ALL)
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert decrypt(token) == ALL
    assert Fernet(new.encode()).decrypt(encrypt(ALL))  # the first key encrypts
    settings.FIELD_ENCRYPTION_KEYS = [new]
    with pytest.raises(InvalidToken):
        decrypt(token)
