"""Reads of the library: a team's OpenAPI profiles, and the spec that covers a run's URL."""

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TypedDict
from urllib.parse import urlsplit

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Model, QuerySet
from django.http import Http404

from apps.accounts.models import Team
from apps.diagnosis.openapi import Spec, build_spec, covers
from apps.library.models import (
    Collection,
    CollectionRun,
    Environment,
    RunEnvironment,
    SavedRequest,
    SavedRequestRun,
    SpecProfile,
    SpecVersion,
)
from apps.runs.forms import VariableSet
from apps.runs.models import Run
from apps.vault.models import VaultSecret

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


# Saved requests and collections -------------------------------------------------------------


def collections_of(*, team: Team) -> list[Collection]:
    return list(
        Collection.objects.for_team(team)
        .annotate(request_count=Count("requests"))
        .order_by("name", "created_at")
    )


def _for_member[T: Model](queryset: QuerySet[T], *, user: User | AnonymousUser, pk: uuid.UUID) -> T:
    """The object if the user is a member of its team; Http404 otherwise, as if it did not
    exist."""
    if not user.is_authenticated:
        raise Http404("Not found")
    found = queryset.filter(pk=pk, team__membership__user=user).select_related("team").first()
    if found is None:
        raise Http404("Not found")
    return found


def get_collection_for_user(*, user: User | AnonymousUser, collection_id: uuid.UUID) -> Collection:
    return _for_member(Collection.objects.all(), user=user, pk=collection_id)


def get_saved_request_for_user(*, user: User | AnonymousUser, saved_id: uuid.UUID) -> SavedRequest:
    return _for_member(SavedRequest.objects.select_related("collection"), user=user, pk=saved_id)


def get_collection_run_for_user(
    *, user: User | AnonymousUser, collection_run_id: uuid.UUID
) -> CollectionRun:
    return _for_member(
        CollectionRun.objects.select_related("collection"), user=user, pk=collection_run_id
    )


def history_of(*, saved: SavedRequest, limit: int = 50) -> list[Run]:
    """The saved request's runs, newest first."""
    return list(
        Run.objects.filter(team=saved.team, saved_from__saved_request=saved).order_by(
            "-created_at"
        )[:limit]
    )


def runs_of_collection_run(*, collection_run: CollectionRun) -> list[SavedRequestRun]:
    return list(
        SavedRequestRun.objects.filter(collection_run=collection_run)
        .select_related("run", "run__created_by", "saved_request")
        .order_by("position")
    )


def latest_collection_runs(*, collection: Collection, limit: int = 10) -> list[CollectionRun]:
    return list(CollectionRun.objects.filter(collection=collection).order_by("-created_at")[:limit])


@dataclass(frozen=True)
class EnvironmentUsed:
    """The environment a run's {{variables}} were filled from: its name then, and its id
    while it still exists."""

    name: str
    environment_id: uuid.UUID | None


def environment_used_by(*, run: Run) -> EnvironmentUsed | None:
    """Which environment the run was sent in (from the form, a saved request or a collection
    run), or None."""
    noted = RunEnvironment.objects.filter(run=run).values_list("name", "environment_id").first()
    if noted is not None:
        return EnvironmentUsed(name=noted[0], environment_id=noted[1])
    saved = (
        SavedRequestRun.objects.filter(run=run, environment__isnull=False)
        .values_list("environment__name", "environment_id")
        .first()
    )
    return EnvironmentUsed(name=saved[0], environment_id=saved[1]) if saved else None


def environments_of(*, team: Team) -> list[Environment]:
    return list(Environment.objects.for_team(team).order_by("name"))


class RunFormOptions(TypedDict):
    """The new-request form's team choices (keyword arguments of RunForm)."""

    vault_names: list[str]
    environments: list[VariableSet]
    traceparent_default: bool | None  # the team's setting; None: the deployment's default


def run_form_options(
    *, team: Team | None, picked: Mapping[str, object] | None = None
) -> RunFormOptions:
    """The vault secrets a key may come from (names only) and the environments that fill
    {{variables}}, of the team. With `picked` (the submitted form's data), only the secret
    and the environment it picked, if any: enough to check a submission (every form post
    counts here), not to show the form again (then ask for all)."""
    if team is None:
        return {"vault_names": [], "environments": [], "traceparent_default": None}
    secrets = VaultSecret.objects.for_team(team).values_list("name", flat=True)
    environments = Environment.objects.for_team(team)
    if picked is None:
        return {
            "vault_names": list(secrets),
            "environments": _variable_sets(environments),
            "traceparent_default": team.send_traceparent,
        }
    name = str(picked.get("vault_secret") or "")
    try:
        environment_id = uuid.UUID(str(picked.get("environment") or ""))
    except ValueError:
        environment_id = None
    return {
        "vault_names": list(secrets.filter(name=name)) if name else [],
        "environments": (
            _variable_sets(environments.filter(pk=environment_id)) if environment_id else []
        ),
        "traceparent_default": team.send_traceparent,
    }


def _variable_sets(environments: QuerySet[Environment]) -> list[VariableSet]:
    return [
        VariableSet(id=str(e.pk), name=e.name, variables={str(n): str(v) for n, v in e.variables})
        for e in environments.order_by("name")
    ]


def environment_of_team(*, team: Team, value: str) -> Environment | None:
    """The team's environment of this id (a form's choice, already checked), if any."""
    if not value:
        return None
    try:
        return Environment.objects.for_team(team).filter(pk=uuid.UUID(value)).first()
    except ValueError:
        return None


def get_environment_for_user(
    *, user: User | AnonymousUser, environment_id: uuid.UUID
) -> Environment:
    return _for_member(Environment.objects.all(), user=user, pk=environment_id)


def environment_of_post(
    *, user: User | AnonymousUser, team: Team, value: str
) -> Environment | None:
    """The environment a run form picked (its id), of the same team; Http404 for one of
    another team or an id that is none."""
    if not value:
        return None
    try:
        environment_id = uuid.UUID(value)
    except ValueError:
        raise Http404("No such environment") from None
    environment = get_environment_for_user(user=user, environment_id=environment_id)
    if environment.team_id != team.pk:
        raise Http404("No such environment")
    return environment


def _by_id_or_name[T: Model](queryset: QuerySet[T], value: str) -> list[T]:
    value = value.strip()
    try:
        return list(queryset.filter(pk=uuid.UUID(value)))
    except ValueError:
        return list(queryset.filter(name=value))


class NotFound(Exception):
    """No such object of the team, or several with that name; the message says which."""


def find_collection(*, team: Team, value: str) -> Collection:
    found = _by_id_or_name(Collection.objects.for_team(team), value)
    if len(found) != 1:
        raise NotFound(
            f"The team has no collection “{value}”." if not found
            else f"The team has {len(found)} collections named “{value}”: give its id."
        )  # fmt: skip
    return found[0]


def collections_named(*, team: Team, name: str) -> int:
    """How many of the team's collections have this name."""
    return Collection.objects.for_team(team).filter(name=name.strip()).count()


def find_environment(*, team: Team, value: str) -> Environment | None:
    if not value.strip():
        return None
    found = _by_id_or_name(Environment.objects.for_team(team), value)
    if not found:
        raise NotFound(f"The team has no environment “{value}”.")
    return found[0]


def find_saved_request(*, team: Team, value: str, collection: str = "") -> SavedRequest:
    queryset = SavedRequest.objects.for_team(team).select_related("collection", "team")
    if collection.strip():
        queryset = queryset.filter(collection=find_collection(team=team, value=collection))
    found = _by_id_or_name(queryset, value)
    if not found:
        raise NotFound(f"The team has no saved request “{value}”.")
    if len(found) > 1:
        names = ", ".join(sorted({f"“{s.collection.name}”" for s in found}))
        raise NotFound(
            f"“{value}” is the name of {len(found)} saved requests (in {names}): name its "
            "collection too."
        )
    return found[0]
