"""The JSON API of the library's writes: import a collection, export and delete one, edit and
delete a saved request, make, change and delete environments. Thin endpoints over
apps.library's services, selectors, exporters and the pages' own forms (their checks and
messages). Registered on the API in api.py."""

import uuid
from datetime import datetime
from typing import Any, Literal

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from ninja import Field, Query, Router, Schema, Status

from apps.api import presenters
from apps.api.api import (
    ERRORS,
    Problematic,
    _form_problem,
    _found,
    _invalid_input,
    _lines,
    _run_answer,
    _team,
    _token,
    _user,
)
from apps.api.auth import check_rate
from apps.api.schemas import (
    CollectionOut,
    EnvironmentOut,
    LogRunOut,
    Pair,
    Problem,
    RunOut,
    SavedOut,
)
from apps.diagnosis.openapi import SpecError
from apps.library import exporters, selectors, services
from apps.library.forms import (
    CollectionImportForm,
    EnvironmentForm,
    HarForm,
    SavedRequestForm,
)
from apps.library.importers.har import har_entries
from apps.library.models import Collection, Environment, SavedRequest
from apps.library.views import UPLOADS_PER_USER
from apps.runs import secrets
from apps.sharing.presentation import Redactor
from apps.sharing.selectors import shared_run_ids

router = Router(tags=["Library"])
ID_ERRORS: dict[int, type] = {**ERRORS, 404: Problem}


class ImportIn(Schema):
    """A Postman collection (v2.1 or v2.0), an OpenAPI 3.x document (JSON or YAML), a HAR
    file or a collection exported from here, as text; which one is told from the content."""

    text: str = Field(description="The file's content (up to 5 MB, as on the page).")
    file_name: str = Field(
        "", max_length=255, description="Its file name: a HAR's collection is named after it."
    )


class ImportOut(Schema):
    collection: CollectionOut
    warnings: list[str] = Field(description="What the import could not keep, in words.")
    profile_id: uuid.UUID | None = Field(
        description="An OpenAPI document: the profile that now diagnoses runs to its hosts."
    )
    profile_version: int | None


class SavedRequestPatch(Schema):
    """Only the fields given change. A secret value shown as [redacted] keeps its kept value;
    the API key is never shown: give a new one, a {{vault:NAME}} reference, or remove it."""

    name: str | None = Field(None, max_length=200)
    collection: str | None = Field(None, max_length=200, description="A collection's id or name.")
    folder: str | None = Field(None, max_length=500, description="“Trades/Archive”; '' for none.")
    method: str | None = None
    url: str | None = Field(None, max_length=4000)
    params: list[Pair] | None = Field(None, description="Replaces the query parameters.")
    headers: list[Pair] | None = Field(None, description="Replaces the headers.")
    body: str | None = None
    api_key: str | None = Field(None, max_length=500, description="A new key (write-only).")
    vault_secret: str | None = Field(None, max_length=100, description="A vault secret's name.")
    remove_api_key: bool = False
    timeout: float | None = None
    profile: str | None = None
    follow_redirects: bool | None = None


class EnvironmentIn(Schema):
    name: str = Field(max_length=100)
    variables: list[Pair] = Field(
        [],
        description="Used as {{name}} in saved requests. Not encrypted: a secret's value must "
        "be a vault reference, e.g. {{vault:kaiko-prod}}.",
    )


class EnvironmentPatch(Schema):
    name: str | None = Field(None, max_length=100)
    variables: list[Pair] | None = Field(None, description="Replaces all its variables.")


class EnvironmentDetailOut(EnvironmentOut):
    updated_at: datetime


def _collection(request: HttpRequest, collection_id: uuid.UUID) -> Collection:
    found = selectors.get_collection_for_user(user=_user(request), collection_id=collection_id)
    if found.team_id != _token(request).team_id:
        raise Http404("No such collection")
    return found


def _saved(request: HttpRequest, saved_id: uuid.UUID) -> SavedRequest:
    found = selectors.get_saved_request_for_user(user=_user(request), saved_id=saved_id)
    if found.team_id != _token(request).team_id:
        raise Http404("No such saved request")
    return found


def _environment(request: HttpRequest, environment_id: uuid.UUID) -> Environment:
    found = selectors.get_environment_for_user(user=_user(request), environment_id=environment_id)
    if found.team_id != _token(request).team_id:
        raise Http404("No such environment")
    return found


def _saved_out(request: HttpRequest, saved: SavedRequest) -> dict[str, Any]:
    return {
        "id": saved.pk,
        "name": saved.name,
        "folder": saved.folder,
        "method": saved.method,
        "url": saved.url,
        "collection": saved.collection.name,
        "url_page": request.build_absolute_uri(reverse("saved:request", args=[saved.pk])),
    }


def _environment_out(environment: Environment) -> dict[str, Any]:
    return {
        "id": environment.pk,
        "name": environment.name,
        "variables": [name for name, _ in environment.variables],
        "updated_at": environment.updated_at,
    }


def _as_text(form: Any) -> None:
    """The API sends the document as `text`: the form's errors about a file are about it."""
    if "file" in form.errors:
        form.errors["text"] = form.errors.pop("file")


# Collections ----------------------------------------------------------------------------------


@router.post(
    "/collections/import",
    response={201: ImportOut, **ERRORS},
    summary="Import a collection: Postman, OpenAPI, HAR or one exported from here",
)
def import_collection(request: HttpRequest, payload: ImportIn) -> Status[Any]:
    """As the Collections page imports it; an OpenAPI document also becomes (or replaces) the
    profile of its hosts. A file that cannot be read is a 422 naming `text`."""
    check_rate(request, group="collection-import", rate=UPLOADS_PER_USER, key="user")
    name = payload.file_name.strip()
    if name and payload.text:  # as an uploaded file of that name, as the page receives it
        upload = SimpleUploadedFile(name, payload.text.encode())
        form = CollectionImportForm({}, MultiValueDict({"file": [upload]}))
    else:
        form = CollectionImportForm({"text": payload.text})
    if not form.is_valid():
        _as_text(form)
        raise _form_problem(form)
    team, user = _team(request), _user(request)
    version = None
    if form.openapi is None:
        collection = services.import_collection(team=team, user=user, imported=form.imported)
    else:
        try:
            collection, version = services.import_openapi(
                team=team, user=user, checked=form.openapi, imported=form.imported
            )
        except SpecError as error:
            raise _invalid_input("text", str(error)) from None
    return Status(
        201,
        {
            "collection": presenters.collection_out(request, collection),
            "warnings": list(form.imported.warnings),
            "profile_id": version.profile_id if version else None,
            "profile_version": version.number if version else None,
        },
    )


class CollectionRunRef(Schema):
    id: uuid.UUID
    created_at: datetime
    environment: str | None
    api_url: str = Field(description="Its outcome: GET /collection-runs/{id}.")


class CollectionDetailOut(CollectionOut):
    variables: list[str] = Field(description="The names of its variables (values not given).")
    collection_runs: list[CollectionRunRef] = Field(description="Its latest runs, newest first.")


@router.get(
    "/collections/{uuid:collection_id}",
    response={200: CollectionDetailOut, **ID_ERRORS},
    summary="A collection: its requests, its variables' names, its latest runs",
)
def get_collection(request: HttpRequest, collection_id: uuid.UUID) -> dict[str, Any]:
    collection = _collection(request, collection_id)
    runs = selectors.latest_collection_runs(collection=collection)
    return {
        **presenters.collection_out(request, collection),
        "variables": [name for name, _ in collection.variables],
        "collection_runs": [
            {
                "id": run.pk,
                "created_at": run.created_at,
                "environment": run.environment.name if run.environment else None,
                "api_url": request.build_absolute_uri(
                    reverse("api:get_collection_run", args=[run.pk])
                ),
            }
            for run in runs
        ],
    }


EXPORT_DOC = {
    "responses": {
        "200": {
            "description": "The collection as a download; secret values as {{variables}}.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }
}


@router.get(
    "/collections/{uuid:collection_id}/export",
    response={200: dict[str, Any], **ID_ERRORS},
    openapi_extra=EXPORT_DOC,
    summary="Export a collection: this dashboard's JSON or Postman v2.1",
)
def export_collection(
    request: HttpRequest,
    collection_id: uuid.UUID,
    format: Literal["native", "postman"] = Query("native"),
) -> dict[str, Any]:
    """The same file as the collection page's downloads: secrets never in it (they become
    variables to fill)."""
    collection = _collection(request, collection_id)
    if format == "postman":
        return exporters.postman_export(collection)
    return exporters.native_export(collection)


@router.delete(
    "/collections/{uuid:collection_id}",
    response={204: None, **ID_ERRORS},
    summary="Delete a collection and its saved requests",
)
def delete_collection(request: HttpRequest, collection_id: uuid.UUID) -> Status[None]:
    """The runs made from them stay in the log."""
    _collection(request, collection_id).delete()
    return Status(204, None)


# A HAR file's entries, picked ---------------------------------------------------------------


class HarIn(Schema):
    """A HAR file and the entries picked (their 0-based indexes in `log.entries`), as the
    HAR page takes them."""

    text: str = Field(description="The HAR file's content (up to 5 MB).")
    entries: list[int] = Field(description="The indexes of the entries picked.")
    action: Literal["save", "submit", "diagnose"] = Field(
        description="save: in a new collection named `name`; submit: each sent as a run; "
        "diagnose: each stored as a run diagnosed as recorded, nothing sent."
    )
    name: str = Field("", max_length=200, description="With save: the collection's name.")


class HarOut(Schema):
    collection: CollectionOut | None = Field(description="With save: the collection made.")
    runs: list[RunOut] = Field(description="With submit or diagnose: the runs stored.")


@router.post(
    "/har",
    response={201: HarOut, **ERRORS},
    summary="A HAR file's picked entries: saved, sent, or diagnosed as recorded",
)
def act_on_har(request: HttpRequest, payload: HarIn) -> Status[Any]:
    """All picked entries or none: an entry that cannot be sent or read is a 422 naming
    `entries` and nothing is done."""
    values: dict[str, list[str]] = {
        "text": [payload.text],
        "entries": [str(i) for i in payload.entries],
        "name": [payload.name],
        "action": [payload.action],
    }
    data: MultiValueDict[str, str] = MultiValueDict(values)
    form = HarForm(data)
    if not form.is_valid():
        if "file" in form.errors:  # the API sends the file as `text`
            form.errors["text"] = form.errors.pop("file")
        raise _form_problem(form)
    check_rate(request, group="submit", rate=settings.RATELIMIT_SUBMIT, key="user")
    team, user = _team(request), _user(request)
    picked = form.picked
    if len(picked) != len(set(payload.entries)):
        raise _invalid_input("entries", "The file has no request to pick at some of these indexes.")
    try:
        if payload.action == HarForm.SAVE:
            imported = form.imported
            imported.requests = picked
            collection = services.import_collection(team=team, user=user, imported=imported)
            return Status(
                201, {"collection": presenters.collection_out(request, collection), "runs": []}
            )
        if payload.action == HarForm.SUBMIT:
            runs = services.submit_imported(team=team, user=user, items=picked)
        else:
            runs = services.diagnose_recorded_entries(
                team=team, user=user, entries=har_entries(form.cleaned_data["text"]),
                indexes=[r.source_index for r in picked if r.source_index is not None],
            )  # fmt: skip
    except services.RequestRefused as refusal:
        raise _invalid_input("entries", f"Nothing was done: {refusal}") from None
    return Status(201, {"collection": None, "runs": [_run_answer(request, r) for r in runs]})


# Saved requests -------------------------------------------------------------------------------


def _saved_form_data(request: HttpRequest, saved: SavedRequest, patch: SavedRequestPatch) -> dict:
    """The edit page's form as it would be posted: what the saved request has, then the
    changes."""
    initial = services.edit_initial_of(saved)
    data: dict[str, Any] = {
        "name": initial["name"],
        "collection": str(initial["collection"]),
        "folder": initial["folder"],
        "method": initial["method"],
        "url": initial["url"],
        "params": initial["params"],
        "headers": initial["headers"],
        "body": initial["body"],
        "api_key": "",
        "vault_secret": "",
        "remove_api_key": "on" if patch.remove_api_key else "",
        "timeout": "" if initial["timeout"] is None else str(initial["timeout"]),
        "profile": initial["profile"],
        "follow_redirects": "on" if initial["follow_redirects"] else "",
    }
    if patch.collection is not None:
        found = _found("collection", selectors.find_collection, team=_team(request),
                       value=patch.collection)  # fmt: skip
        data["collection"] = str(found.pk)
    for name in ("name", "folder", "method", "url", "body", "api_key", "vault_secret", "profile"):
        value = getattr(patch, name)
        if value is not None:
            data[name] = value
    if patch.params is not None:
        data["params"] = _lines(patch.params, "=", "params")
    if patch.headers is not None:
        data["headers"] = _lines(patch.headers, ": ", "headers")
    if patch.timeout is not None:
        data["timeout"] = str(patch.timeout)
    if patch.follow_redirects is not None:
        data["follow_redirects"] = "on" if patch.follow_redirects else ""
    return data


class SavedDetailOut(SavedOut):
    """A saved request as its page shows it: secrets never (the API key is only said to be
    there; secret values are [redacted])."""

    collection_id: uuid.UUID
    query: list[Pair]
    headers: list[Pair]
    body: str
    has_api_key: bool
    timeout: float | None
    profile: str
    follow_redirects: bool
    updated_at: datetime
    history: list[LogRunOut] = Field(description="Its runs, newest first (at most 50).")


@router.get(
    "/saved-requests/{uuid:saved_id}",
    response={200: SavedDetailOut, **ID_ERRORS},
    summary="A saved request and its history",
)
def get_saved_request(request: HttpRequest, saved_id: uuid.UUID) -> dict[str, Any]:
    saved = _saved(request, saved_id)
    try:
        values = secrets.decrypt(saved.secrets_encrypted).values()
    except InvalidToken:
        raise Problematic(
            503,
            "This saved request's secrets cannot be decrypted (its key is no longer "
            "configured), so it cannot be checked for them and is not shown.",
        ) from None
    clean = Redactor.for_secrets(values).value

    def pairs(stored: list[list[str]]) -> list[dict[str, str]]:
        return [{"name": clean(str(n)), "value": clean(str(v))} for n, v in stored]

    history = selectors.history_of(saved=saved)
    shared = shared_run_ids(team=saved.team, run_ids=[run.id for run in history])
    absolute = request.build_absolute_uri
    return {
        **_saved_out(request, saved),
        "url": clean(saved.url),
        "collection_id": saved.collection_id,
        "query": pairs(saved.query),
        "headers": pairs(saved.request_headers),
        "body": clean(saved.request_body),
        "has_api_key": saved.has_api_key,
        "timeout": saved.timeout_seconds,
        "profile": saved.profile,
        "follow_redirects": saved.follow_redirects,
        "updated_at": saved.updated_at,
        "history": [presenters.log_run_out(r, absolute, shared=r.id in shared) for r in history],
    }


@router.patch(
    "/saved-requests/{uuid:saved_id}",
    response={200: SavedOut, **ID_ERRORS},
    summary="Change a saved request: rename, move, or change its request",
)
def update_saved_request(
    request: HttpRequest, saved_id: uuid.UUID, payload: SavedRequestPatch
) -> dict[str, Any]:
    """Checked by the edit page's form; its secrets stay encrypted and its history stays."""
    saved = _saved(request, saved_id)
    vault_names = selectors.run_form_options(team=saved.team)["vault_names"]
    form = SavedRequestForm(
        _saved_form_data(request, saved, payload), saved=saved, vault_names=vault_names
    )
    if not form.is_valid():
        raise _form_problem(form)
    data = form.cleaned_data
    services.update_saved_request(
        saved=saved,
        name=data["name"],
        collection=data["collection"],
        folder=data["folder"],
        composed=form.composed,
        timeout=data["timeout"],
        profile=data["profile"],
        follow_redirects=data["follow_redirects"],
    )
    return _saved_out(request, saved)


@router.delete(
    "/saved-requests/{uuid:saved_id}",
    response={204: None, **ID_ERRORS},
    summary="Delete a saved request",
)
def delete_saved_request(request: HttpRequest, saved_id: uuid.UUID) -> Status[None]:
    """Its runs stay in the log."""
    services.delete_saved_request(saved=_saved(request, saved_id))
    return Status(204, None)


# Environments ---------------------------------------------------------------------------------


def _save_environment(
    request: HttpRequest, *, name: str, variables: str, environment: Environment | None
) -> Environment:
    """Checked by the Environments page's form (a secret's value must be a vault reference)
    and saved by its service; a name the team has already is a 422 naming `name`."""
    form = EnvironmentForm({"name": name, "variables": variables})
    if form.is_valid():
        team = _team(request)
        clash = Environment.objects.for_team(team).filter(name=form.cleaned_data["name"])
        if environment is not None:
            clash = clash.exclude(pk=environment.pk)
        if clash.exists():
            form.add_error(
                "name", f"The team has an environment named “{form.cleaned_data['name']}” already."
            )
    if form.errors:
        raise _form_problem(form)
    return services.save_environment(
        team=_team(request), user=_user(request), name=form.cleaned_data["name"],
        variables=form.cleaned_data["variables"], environment=environment,
    )  # fmt: skip


@router.get(
    "/environments",
    response={200: list[EnvironmentOut], **ERRORS},
    summary="The team's environments",
)
def list_environments(request: HttpRequest) -> list[dict[str, Any]]:
    """Their variables' names; values are not given."""
    return [
        {"id": e.pk, "name": e.name, "variables": [name for name, _ in e.variables]}
        for e in selectors.environments_of(team=_team(request))
    ]


@router.post(
    "/environments",
    response={201: EnvironmentDetailOut, **ERRORS},
    summary="Make an environment",
)
def create_environment(request: HttpRequest, payload: EnvironmentIn) -> Status[Any]:
    variables = _lines(payload.variables, "=", "variables")
    saved = _save_environment(request, name=payload.name, variables=variables, environment=None)
    return Status(201, _environment_out(saved))


@router.patch(
    "/environments/{uuid:environment_id}",
    response={200: EnvironmentDetailOut, **ID_ERRORS},
    summary="Rename an environment or replace its variables",
)
def update_environment(
    request: HttpRequest, environment_id: uuid.UUID, payload: EnvironmentPatch
) -> dict[str, Any]:
    environment = _environment(request, environment_id)
    if payload.variables is None:
        variables = "\n".join(f"{n}={v}" for n, v in environment.variables)
    else:
        variables = _lines(payload.variables, "=", "variables")
    name = environment.name if payload.name is None else payload.name
    saved = _save_environment(request, name=name, variables=variables, environment=environment)
    return _environment_out(saved)


@router.delete(
    "/environments/{uuid:environment_id}",
    response={204: None, **ID_ERRORS},
    summary="Delete an environment",
)
def delete_environment(request: HttpRequest, environment_id: uuid.UUID) -> Status[None]:
    _environment(request, environment_id).delete()
    return Status(204, None)
