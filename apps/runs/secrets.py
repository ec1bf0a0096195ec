"""Encryption of the secrets a run needs (API key, credential headers and parameters).

Keys come from settings.FIELD_ENCRYPTION_KEYS: the first encrypts, every one decrypts, so a
new key can be put first and the old ones dropped once everything is re-encrypted.
"""

import json
from dataclasses import asdict, dataclass, field
from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@dataclass(frozen=True)
class RunSecrets:
    api_key: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)

    def values(self) -> list[str]:
        found = [self.api_key] if self.api_key else []
        found += [value for _, value in self.headers + self.params if value]
        return found


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
    )
