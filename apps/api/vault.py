"""The JSON API of the team vault: thin endpoints over apps.vault's services, selectors and
forms (the Vault pages' checks). Values are write-only: no answer ever holds one, only
names, hosts, versions and dates. As on the pages, every member reads; the team's owners
write (a member is answered 403, a stranger 404). Registered on the API in api.py."""

import uuid
from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import Field, Router, Schema, Status

from apps.accounts.selectors import is_owner
from apps.api.api import ERRORS, Problematic, _form_problem, _team, _token, _user
from apps.api.schemas import Problem
from apps.vault import selectors, services
from apps.vault.forms import HostsForm, RotateForm, SecretForm
from apps.vault.models import VaultEvent, VaultSecret

router = Router(tags=["Vault"])
OWNER_ERRORS: dict[int, type] = {**ERRORS, 403: Problem}
ID_ERRORS: dict[int, type] = {**ERRORS, 404: Problem}
OWNER_ID_ERRORS: dict[int, type] = {**ERRORS, 403: Problem, 404: Problem}

HOSTS = Field(
    description="Where it may be sent: hosts (api.example.com) or *. and a domain "
    "(*.example.com, its sub-domains). A request to any other host is refused."
)


class SecretIn(Schema):
    name: str = Field(max_length=100, description="Used in requests as {{vault:NAME}}.")
    value: str = Field(
        max_length=4000, description="Stored encrypted; never answered back, to anyone."
    )
    hosts: list[str] = HOSTS
    description: str = Field("", max_length=300)


class RotateIn(Schema):
    value: str = Field(max_length=4000, description="The new value; the name stays.")


class HostsIn(Schema):
    hosts: list[str] = HOSTS


class SecretOut(Schema):
    """A secret without its value, which no answer holds."""

    id: uuid.UUID
    name: str
    reference: str = Field(description="How a request uses it: {{vault:NAME}}.")
    hosts: list[str]
    description: str
    version: int = Field(description="1, then one more at each new value.")
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    page: str = Field(description="The secret's page in the dashboard.")


class EventOut(Schema):
    at: datetime
    action: str = Field(description="created, rotated, bound, deleted, used or refused.")
    user: str | None
    run_id: uuid.UUID | None
    detail: str = Field(description="What changed (never a value).")


def _owner_only(request: HttpRequest, what: str) -> None:
    """The pages' rule: the team's owners change the vault; other members are refused."""
    if not is_owner(user=_user(request), team_id=_token(request).team_id):
        raise Problematic(403, f"Only the team's owners {what}.")


def _secret(request: HttpRequest, secret_id: uuid.UUID) -> VaultSecret:
    secret = selectors.get_secret_for_user(user=_user(request), secret_id=secret_id)
    if secret.team_id != _token(request).team_id:
        raise Http404("No such secret")
    return secret


def _out(request: HttpRequest, secret: VaultSecret) -> dict[str, Any]:
    return {
        "id": secret.pk,
        "name": secret.name,
        "reference": "{{vault:" + secret.name + "}}",
        "hosts": list(secret.hosts),
        "description": secret.description,
        "version": secret.version,
        "created_by": secret.created_by.get_username() if secret.created_by else None,
        "created_at": secret.created_at,
        "updated_at": secret.updated_at,
        "page": request.build_absolute_uri(reverse("vault:detail", args=[secret.pk])),
    }


def _refused(refusal: services.VaultRefused, field: str) -> Problematic:
    return Problematic(
        422, f"{field}: {refusal}", errors=[(field, str(refusal))],
        title="Your request is not valid",
    )  # fmt: skip


@router.get("/vault", response={200: list[SecretOut], **ERRORS}, summary="The team's secrets")
def list_secrets(request: HttpRequest) -> list[dict[str, Any]]:
    """Names, hosts and dates: what there is to use as {{vault:NAME}}. Never a value."""
    secrets = VaultSecret.objects.for_team(_team(request)).defer("value_encrypted")
    return [_out(request, s) for s in secrets.select_related("created_by")]


@router.post(
    "/vault",
    response={201: SecretOut, **OWNER_ERRORS},
    summary="Add a secret (owners)",
)
def create_secret(request: HttpRequest, payload: SecretIn) -> Status[Any]:
    _owner_only(request, "add secrets")
    form = SecretForm(
        {
            "name": payload.name,
            "value": payload.value,
            "hosts": "\n".join(payload.hosts),
            "description": payload.description,
        }
    )
    if not form.is_valid():
        raise _form_problem(form)
    data = form.cleaned_data
    try:
        secret = services.create_secret(
            team=_team(request), user=_user(request), name=data["name"], value=data["value"],
            hosts=data["hosts"], description=data["description"],
        )  # fmt: skip
    except services.VaultRefused as refusal:  # a name the team has already
        raise _refused(refusal, "name") from None
    return Status(201, _out(request, secret))


@router.get(
    "/vault/{uuid:secret_id}",
    response={200: SecretOut, **ID_ERRORS},
    summary="A secret: name, hosts, version (never its value)",
)
def get_secret(request: HttpRequest, secret_id: uuid.UUID) -> dict[str, Any]:
    return _out(request, _secret(request, secret_id))


@router.get(
    "/vault/{uuid:secret_id}/events",
    response={200: list[EventOut], **ID_ERRORS},
    summary="A secret's history: changes and uses",
)
def secret_events(request: HttpRequest, secret_id: uuid.UUID) -> list[dict[str, Any]]:
    secret = _secret(request, secret_id)
    events: list[VaultEvent] = selectors.events_of(team=secret.team, secret=secret)
    return [
        {
            "at": event.at,
            "action": event.action,
            "user": event.user.get_username() if event.user else None,
            "run_id": event.run_id,
            "detail": event.detail,
        }
        for event in events
    ]


@router.post(
    "/vault/{uuid:secret_id}/rotate",
    response={200: SecretOut, **OWNER_ID_ERRORS},
    summary="Replace a secret's value (owners)",
)
def rotate_secret(request: HttpRequest, secret_id: uuid.UUID, payload: RotateIn) -> dict[str, Any]:
    """Requests that use it get the new value from now on; its version is one more."""
    secret = _secret(request, secret_id)
    _owner_only(request, "replace secrets")
    form = RotateForm({"value": payload.value})
    if not form.is_valid():
        raise _form_problem(form)
    try:
        services.rotate_secret(secret=secret, user=_user(request), value=form.cleaned_data["value"])
    except services.VaultRefused as refusal:
        raise Problematic(403, str(refusal)) from None
    return _out(request, secret)


@router.put(
    "/vault/{uuid:secret_id}/hosts",
    response={200: SecretOut, **OWNER_ID_ERRORS},
    summary="Change where a secret may be sent (owners)",
)
def rebind_secret(request: HttpRequest, secret_id: uuid.UUID, payload: HostsIn) -> dict[str, Any]:
    secret = _secret(request, secret_id)
    _owner_only(request, "change where a secret may be sent")
    form = HostsForm({"hosts": "\n".join(payload.hosts)})
    if not form.is_valid():
        raise _form_problem(form)
    try:
        services.rebind_secret(secret=secret, user=_user(request), hosts=form.cleaned_data["hosts"])
    except services.VaultRefused as refusal:
        raise Problematic(403, str(refusal)) from None
    return _out(request, secret)


@router.delete(
    "/vault/{uuid:secret_id}",
    response={204: None, **OWNER_ID_ERRORS},
    summary="Delete a secret (owners)",
)
def delete_secret(request: HttpRequest, secret_id: uuid.UUID) -> Status[None]:
    secret = _secret(request, secret_id)
    _owner_only(request, "delete secrets")
    try:
        services.delete_secret(secret=secret, user=_user(request))
    except services.VaultRefused as refusal:
        raise Problematic(403, str(refusal)) from None
    return Status(204, None)
