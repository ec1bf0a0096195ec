"""Reads of the library: a team's OpenAPI profiles, and the spec that covers a run's URL."""

import logging
import uuid
from dataclasses import dataclass, replace
from functools import lru_cache
from urllib.parse import urlsplit

from django.contrib.auth.models import AnonymousUser, User
from django.http import Http404

from apps.accounts.models import Team
from apps.diagnosis.openapi import Spec, build_spec, covers
from apps.library.models import SpecProfile, SpecVersion

logger = logging.getLogger(__name__)


def profiles_of(*, team: Team) -> list[SpecProfile]:
    return list(SpecProfile.objects.for_team(team).prefetch_related("versions"))


def get_profile_for_user(*, user: User | AnonymousUser, profile_id: uuid.UUID) -> SpecProfile:
    """The profile if the user is a member of its team; Http404 otherwise, as if it did not
    exist."""
    if not user.is_authenticated:
        raise Http404("No such profile")
    profile = (
        SpecProfile.objects.filter(pk=profile_id, team__membership__user=user)
        .select_related("team")
        .first()
    )
    if profile is None:
        raise Http404("No such profile")
    return profile


@dataclass(frozen=True)
class CoveringSpec:
    version: SpecVersion
    spec: Spec


@lru_cache(maxsize=16)  # a 2 MB document is some 20 MB of objects: keep a few
def _spec_of(version_id: uuid.UUID, label: str) -> Spec | None:
    """The typed spec of a stored version (versions never change: cached by id)."""
    version = SpecVersion.objects.filter(pk=version_id).only("document").first()
    if version is None:
        return None
    spec = build_spec(version.document)
    return replace(spec, label=label)


def spec_covering(*, team_id: uuid.UUID, url: str) -> CoveringSpec | None:
    """The latest version of the team's profile whose servers cover the URL, if any."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None
    for profile in SpecProfile.objects.filter(team_id=team_id).order_by("-updated_at"):
        if host not in profile.hosts:
            continue
        version = profile.versions.order_by("-number").only("id", "number", "title").first()
        if version is None:
            continue
        try:
            spec = _spec_of(version.pk, version.label)
        except Exception:  # a stored document that no longer reads must not break a run
            logger.exception("OpenAPI profile version %s cannot be read", version.pk)
            continue
        if spec is not None and covers(spec, url):
            return CoveringSpec(version=version, spec=spec)
    return None
