"""Encryption of the secrets a run needs (API key, credential headers and parameters).

Keys come from settings.FIELD_ENCRYPTION_KEYS: the first encrypts, every one decrypts, so a
new key can be put first and the old ones dropped once everything is re-encrypted.
"""

import json
from dataclasses import asdict, dataclass, field
from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings

# The header a run's API key is sent in.
API_KEY_HEADER = "X-Api-Key"


@dataclass(frozen=True)
class RunSecrets:
    api_key: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""  # the whole request body, when it holds secrets (stored redacted)
    body_values: list[str] = field(default_factory=list)  # the secrets found in it

    def values(self) -> list[str]:
        """Every secret value, to be removed wherever it shows up (echoed, in errors ...)."""
        found = [self.api_key] if self.api_key else []
        for _, value in self.headers + self.params:
            found.append(value)
            scheme, _, credential = value.partition(" ")  # "Bearer <token>", "Basic <b64>"
            if credential and scheme.isalpha():
                found.append(credential.strip())
        return [value for value in found + self.body_values if value]


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(secrets: RunSecrets) -> bytes:
    if not secrets.values():
        return b""
    return fernet().encrypt(json.dumps(asdict(secrets)).encode())


def decrypt(token: bytes | memoryview) -> RunSecrets:
    token = bytes(token)
    if not token:
        return RunSecrets()
    data = json.loads(fernet().decrypt(token))
    return RunSecrets(
        api_key=data.get("api_key", ""),
        headers=[(name, value) for name, value in data.get("headers", [])],
        params=[(name, value) for name, value in data.get("params", [])],
        body=data.get("body", ""),
        body_values=list(data.get("body_values", [])),
    )
