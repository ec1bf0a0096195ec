"""The JSON API of OpenAPI profiles: thin endpoints over apps.library's services, selectors
and upload form (the Profiles pages' checks, limits and errors at the line). Registered on
the API in api.py."""

import dataclasses
import uuid
from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import Field, Router, Schema, Status

from apps.api.api import ERRORS, _form_problem, _team, _token, _user
from apps.api.auth import check_rate
from apps.api.schemas import Problem
from apps.diagnosis.openapi import build_spec
from apps.library import selectors, services
from apps.library.forms import SpecUploadForm
from apps.library.models import SpecProfile, SpecVersion
from apps.library.services import CheckedDocument
from apps.library.views import UPLOADS_PER_USER

router = Router(tags=["OpenAPI profiles"])
ID_ERRORS: dict[int, type] = {**ERRORS, 404: Problem}


class ProfileIn(Schema):
    """An OpenAPI 3.0 or 3.1 document, JSON or YAML, as text (at most 2 MB, as on the page)."""

    text: str = Field(description="The document itself, JSON or YAML.")
    file_name: str = Field(
        "", max_length=255, description="What it was uploaded as, kept with the version."
    )


class VersionOut(Schema):
    number: int
    title: str
    api_version: str = Field(description="The document's info.version.")
    openapi: str = Field(description="Its OpenAPI version, e.g. 3.1.0.")
    operation_count: int
    size_bytes: int
    source_name: str = Field(description="The file it was uploaded as, or “pasted”.")
    created_at: datetime
    created_by: str | None


class ProfileOut(Schema):
    id: uuid.UUID
    name: str = Field(description="The latest version's info.title.")
    hosts: list[str] = Field(description="Runs to these hosts are diagnosed against it.")
    created_at: datetime
    updated_at: datetime
    version: int | None = Field(description="The number of the version in use.")
    versions: list[VersionOut] = Field(description="Newest first.")
    page: str = Field(description="The profile's page in the dashboard.")


class SchemeOut(Schema):
    name: str
    type: str = Field(description="apiKey, http, oauth2, openIdConnect or mutualTLS.")
    sent_as: str = Field(description="How the credential is sent, in words.")
    description: str


class ParameterOut(Schema):
    name: str
    location: str = Field(description="query, header, path or cookie.")
    required: bool


class ResponseDocOut(Schema):
    key: str = Field(description="“200”, “4XX” or “default”.")
    description: str


class OperationOut(Schema):
    method: str
    path: str
    summary: str
    parameters: list[ParameterOut]
    responses: list[ResponseDocOut]


class CoverageOut(ProfileOut):
    """What the profile's version in use covers, as its page shows it."""

    servers: list[str] = Field(description="The servers' URLs, variables at their defaults.")
    schemes: list[SchemeOut]
    operations: list[OperationOut]


def _profile(request: HttpRequest, profile_id: uuid.UUID) -> SpecProfile:
    """The profile if it is of the token's team (and its user is a member); Http404 otherwise."""
    profile = selectors.get_profile_for_user(user=_user(request), profile_id=profile_id)
    if profile.team_id != _token(request).team_id:
        raise Http404("No such profile")
    return profile


def _version_out(version: SpecVersion) -> dict[str, Any]:
    return {
        "number": version.number,
        "title": version.title,
        "api_version": version.api_version,
        "openapi": version.openapi,
        "operation_count": version.operation_count,
        "size_bytes": version.size_bytes,
        "source_name": version.source_name,
        "created_at": version.created_at,
        "created_by": version.created_by.get_username() if version.created_by else None,
    }


def _out(request: HttpRequest, profile: SpecProfile) -> dict[str, Any]:
    versions = list(profile.versions.select_related("created_by").order_by("-number"))
    return {
        "id": profile.pk,
        "name": profile.name,
        "hosts": list(profile.hosts),
        "created_at": profile.created_at,
        "updated_at": profile.updated_at,
        "version": versions[0].number if versions else None,
        "versions": [_version_out(v) for v in versions],
        "page": request.build_absolute_uri(reverse("library:profile", args=[profile.pk])),
    }


def _checked(
    request: HttpRequest, payload: ProfileIn, *, but: SpecProfile | None
) -> CheckedDocument:
    """The document checked by the page's own form, under the page's upload limit (counted
    with the page's uploads); a problem naming `text` (with the line, when known) otherwise."""
    check_rate(request, group="spec-upload", rate=UPLOADS_PER_USER, key="user")
    form = SpecUploadForm({"text": payload.text})
    if form.is_valid():
        taken = services.hosts_taken(team=_team(request), hosts=form.checked.spec.hosts, but=but)
        if taken:
            listed = "; ".join(f"`{host}` by “{name}”" for host, name in taken.items())
            form.add_error(
                "text",
                f"Another profile of the team already covers {listed}: replace that "
                "profile instead.",
            )
    if form.errors:
        if "file" in form.errors:  # the API has no file field: the document is `text`
            form.errors["text"] = form.errors.pop("file")
        raise _form_problem(form)
    checked = form.checked
    if payload.file_name.strip():
        checked = dataclasses.replace(checked, source_name=payload.file_name.strip())
    return checked


@router.get("/profiles", response={200: list[ProfileOut], **ERRORS}, summary="The team's profiles")
def list_profiles(request: HttpRequest) -> list[dict[str, Any]]:
    return [_out(request, p) for p in selectors.profiles_of(team=_team(request))]


@router.post(
    "/profiles",
    response={201: ProfileOut, **ERRORS},
    summary="Upload an OpenAPI document as a new profile",
)
def create_profile(request: HttpRequest, payload: ProfileIn) -> Status[Any]:
    """Runs to the hosts of its `servers` are then diagnosed against it. A document that is
    not valid is a 422 naming `text`, with the line and the place in it."""
    checked = _checked(request, payload, but=None)
    version = services.create_profile(team=_team(request), user=_user(request), checked=checked)
    return Status(201, _out(request, version.profile))


@router.get(
    "/profiles/{uuid:profile_id}",
    response={200: CoverageOut, **ID_ERRORS},
    summary="What a profile covers: servers, authentication, operations, versions",
)
def get_profile(request: HttpRequest, profile_id: uuid.UUID) -> dict[str, Any]:
    profile = _profile(request, profile_id)
    answer = _out(request, profile)
    latest = profile.latest
    spec = build_spec(latest.document) if latest else None
    answer["servers"] = [server.url for server in spec.servers] if spec else []
    answer["schemes"] = [
        {
            "name": name,
            "type": scheme.type,
            "sent_as": scheme.describe(),
            "description": scheme.description,
        }
        for name, scheme in (spec.schemes.items() if spec else [])
    ]
    answer["operations"] = [
        {
            "method": op.method,
            "path": op.path,
            "summary": op.summary,
            "parameters": [
                {"name": p.name, "location": p.location, "required": p.required}
                for p in op.parameters
            ],
            "responses": [
                {"key": r.key, "description": r.description} for r in op.responses.values()
            ],
        }
        for op in (spec.operations if spec else ())
    ]
    return answer


@router.post(
    "/profiles/{uuid:profile_id}/versions",
    response={201: ProfileOut, **ID_ERRORS},
    summary="Replace a profile's document with a new version",
)
def replace_profile(request: HttpRequest, profile_id: uuid.UUID, payload: ProfileIn) -> Status[Any]:
    """Runs from now on are diagnosed against the new version; the old ones are kept."""
    profile = _profile(request, profile_id)
    checked = _checked(request, payload, but=profile)
    services.replace_profile(profile=profile, user=_user(request), checked=checked)
    profile.refresh_from_db()
    return Status(201, _out(request, profile))


@router.delete(
    "/profiles/{uuid:profile_id}",
    response={204: None, **ID_ERRORS},
    summary="Delete a profile and its versions",
)
def delete_profile(request: HttpRequest, profile_id: uuid.UUID) -> Status[None]:
    """Runs it explained keep their stored diagnosis."""
    services.delete_profile(profile=_profile(request, profile_id))
    return Status(204, None)
