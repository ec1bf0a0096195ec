"""Encryption of the secrets a run needs (API key, credential headers and parameters).

Keys come from settings.FIELD_ENCRYPTION_KEYS: the first encrypts, every one decrypts, so a
new key can be put first and the old ones dropped once everything is re-encrypted.
"""

import json
from dataclasses import asdict, dataclass, field
from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings

from apps.egress.redaction import credential_parts

# The header a run's API key is sent in.
API_KEY_HEADER = "X-Api-Key"


@dataclass(frozen=True)
class RunSecrets:
    """What a run sends but never stores in clear. `headers` and `params` hold the pairs
    stored as "[redacted]": secret names, and any other pair whose value held a secret."""

    api_key: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""  # the whole request body, when it holds secrets (stored redacted)
    body_values: list[str] = field(default_factory=list)  # the secrets found in it
    url: str = ""  # the URL as typed, when a secret was in it (stored redacted)

    def values(self) -> list[str]:
        """Every secret value, to be removed wherever it shows up (echoed, in errors ...):
        the values and their credential parts ("Bearer <token>" → the token too)."""
        found = [self.api_key] if self.api_key else []
        for _, value in self.headers + self.params:
            found += credential_parts(value)
        found += self.body_values
        return [value for value in dict.fromkeys(found) if value]


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
        url=data.get("url", ""),
    )
