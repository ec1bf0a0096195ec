"""People and tokens for the API tests: `owner` and `teammate` in `team`, `stranger` in
`other_team`, each with a working token; and tokens that no longer work."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from apps.accounts.models import Team
from apps.api import services
from apps.api.models import ApiToken


def make_token(user: User, team: Team, *, days: int = 30) -> str:
    _token, value = services.create_token(
        user=user, team=team, name="test", lifetime=timedelta(days=days)
    )
    return value


class ApiClient:
    """The test client with a bearer token (or none), speaking JSON."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **params: Any):
        return self.client.get(path, params, headers=self.headers)

    def post(self, path: str, data: object = None, **params: object):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return self.client.post(
            f"{path}?{query}" if query else path,
            data if data is not None else {},
            content_type="application/json",
            headers=self.headers,
        )


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    cache.clear()


@pytest.fixture
def owner_api(owner: User, team: Team) -> ApiClient:
    return ApiClient(make_token(owner, team))


@pytest.fixture
def teammate_api(teammate: User, team: Team) -> ApiClient:
    return ApiClient(make_token(teammate, team))


@pytest.fixture
def stranger_api(stranger: User, other_team: Team) -> ApiClient:
    return ApiClient(make_token(stranger, other_team))


@pytest.fixture
def anonymous_api(db: None) -> ApiClient:
    return ApiClient(None)


@pytest.fixture
def revoked_api(owner: User, team: Team) -> ApiClient:
    value = make_token(owner, team)
    ApiToken.objects.filter(user=owner).update(revoked_at=timezone.now())
    return ApiClient(value)


@pytest.fixture
def expired_api(owner: User, team: Team) -> ApiClient:
    value = make_token(owner, team)
    ApiToken.objects.filter(user=owner, revoked_at=None).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    return ApiClient(value)
