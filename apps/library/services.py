"""Writes of the library: a team's OpenAPI profiles (upload, replace, delete); saved
requests and collections (import in one transaction, save a run's request, run one or a
whole collection through the runs service). Secret values are kept as the runs keep them:
encrypted, and removed by value from every other column."""

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from apps.accounts.models import Team
from apps.diagnosis.openapi import Document, Spec, SpecError, build_spec, load_document
from apps.egress.redaction import (
    REDACTED,
    is_secret_header,
    is_secret_param,
    redact_body,
    redact_text,
    split_secret_pairs,
)
from apps.library.importers.collection import ImportedCollection, ImportedRequest
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
from apps.runs import secrets
from apps.runs.forms import VARIABLE, RunForm, RunRequest
from apps.runs.forms import resolve_variables as resolve
from apps.runs.models import Run
from apps.runs.recorded import RecordedInvalid, record_exchange, recorded_from_har_entry
from apps.vault.services import (
    Resolved,
    VaultRefused,
    resolve_request,
    submit_resolved,
    submit_resolved_many,
    submit_with_vault,
    with_references,
)

PASTED = "pasted"


@dataclass(frozen=True)
class CheckedDocument:
    """A document that passed every check, with its spec and what it was uploaded as."""

    text: str
    document: Document
    spec: Spec
    source_name: str


def check_document(*, raw: str | bytes, source_name: str) -> CheckedDocument:
    """Read and check an uploaded document; SpecError names what is wrong and where."""
    document = load_document(raw)
    spec = build_spec(document)
    if not spec.hosts:
        raise SpecError(
            "The document's `servers` name no host, so no run can be matched to it: add a "
            "server with a full URL, e.g. `https://api.example.com/v1`.",
            where="servers",
        )
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    return CheckedDocument(text=text, document=document, spec=spec, source_name=source_name)


def hosts_taken(
    *, team: Team, hosts: tuple[str, ...], but: SpecProfile | None = None
) -> dict[str, str]:
    """Hosts among these that another profile of the team already covers: host → its name."""
    taken: dict[str, str] = {}
    profiles = SpecProfile.objects.for_team(team)
    if but is not None:
        profiles = profiles.exclude(pk=but.pk)
    for profile in profiles:
        for host in profile.hosts:
            if host in hosts:
                taken[host] = profile.name
    return taken


def _add_version(
    *, profile: SpecProfile, checked: CheckedDocument, user: User | None
) -> SpecVersion:
    latest = SpecVersion.objects.filter(profile=profile).order_by("-number").first()
    version = SpecVersion.objects.create(
        profile=profile,
        number=(latest.number + 1) if latest else 1,
        created_by=user,
        source_name=checked.source_name[:255],
        text=checked.text,
        document=checked.document.data,
        openapi=checked.document.version,
        title=checked.spec.title[:200],
        api_version=checked.spec.api_version[:100],
        operation_count=len(checked.spec.operations),
        size_bytes=len(checked.text.encode()),
    )
    profile.name = checked.spec.title[:200]
    profile.hosts = list(checked.spec.hosts)
    profile.save(update_fields=["name", "hosts", "updated_at"])
    return version


@transaction.atomic
def create_profile(*, team: Team, user: User | None, checked: CheckedDocument) -> SpecVersion:
    profile = SpecProfile.objects.create(
        team=team, name=checked.spec.title[:200], created_by=user, hosts=list(checked.spec.hosts)
    )
    return _add_version(profile=profile, checked=checked, user=user)


@transaction.atomic
def replace_profile(
    *, profile: SpecProfile, user: User | None, checked: CheckedDocument
) -> SpecVersion:
    """A new version of the profile; runs from now on are diagnosed against it."""
    SpecProfile.objects.select_for_update().filter(pk=profile.pk).first()
    return _add_version(profile=profile, checked=checked, user=user)


def delete_profile(*, profile: SpecProfile) -> None:
    """The profile and its versions; runs it explained keep their stored diagnosis."""
    profile.delete()


# Saved requests and collections ---------------------------------------------------------

VAULT_ONLY = re.compile(r"(?:[A-Za-z]+ )?\{\{\s*vault:[^{}\s]+\s*\}\}")


class RequestRefused(Exception):
    """A saved request that cannot be sent as it is; the message says why, to the user."""


@dataclass(frozen=True)
class Composed:
    """A request as composed: every value, secrets included (never stored like this)."""

    method: str
    url: str
    params: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: str
    api_key: str = ""


def _kept_fields(composed: Composed) -> dict[str, object]:
    """The columns of a saved request: what is shown, and the secrets encrypted."""
    parts = urlsplit(composed.url)
    url, params = composed.url, list(composed.params)
    in_url = parse_qsl(parts.query, keep_blank_values=True)
    if any(is_secret_param(name) for name, _ in in_url):
        url, params = urlunsplit(parts._replace(query="")), in_url + params
    shown_headers, secret_headers = split_secret_pairs(composed.headers, is_secret=is_secret_header)
    shown_params, secret_params = split_secret_pairs(params, is_secret=is_secret_param)
    content_type = next((v for n, v in composed.headers if n.lower() == "content-type"), "")
    shown_body, body_values = redact_body(composed.body, content_type)
    kept = secrets.RunSecrets(
        api_key=composed.api_key,
        headers=secret_headers,
        params=secret_params,
        body=composed.body if body_values else "",
        body_values=body_values,
    )
    values = kept.values()
    return {
        "method": composed.method.upper()[:10],
        "url": url,
        "query": [[n, v] for n, v in shown_params],
        "request_headers": [[n, redact_text(v, values)] for n, v in shown_headers],
        "request_body": redact_text(shown_body, values),
        "has_api_key": bool(composed.api_key),
        "secrets_encrypted": secrets.encrypt(kept),
    }


def composed_of(saved: SavedRequest) -> Composed:
    """The saved request with its secrets back in place (for sending, never for showing)."""
    kept = secrets.decrypt(saved.secrets_encrypted)
    return Composed(
        method=saved.method,
        url=saved.url,
        params=restored(saved.query, kept.params, by_lower_name=False),
        headers=restored(saved.request_headers, kept.headers, by_lower_name=True),
        body=kept.body or saved.request_body,
        api_key=kept.api_key,
    )


def restored(
    shown: list[list[str]], kept: list[tuple[str, str]], *, by_lower_name: bool
) -> list[tuple[str, str]]:
    """Shown pairs with each "[redacted]" value given back its kept value, by name."""
    key = str.lower if by_lower_name else str
    values = {key(name): value for name, value in kept}
    return [
        (name, values.get(key(name), value) if value == REDACTED else value)
        for name, value in shown
    ]


@transaction.atomic
def import_collection(*, team: Team, user: User, imported: ImportedCollection) -> Collection:
    """The collection and all its requests, or nothing."""
    collection = Collection.objects.create(
        team=team,
        name=imported.name[:200],
        description=imported.description,
        variables=[[n, v] for n, v in imported.variables],
        created_by=user,
    )
    SavedRequest.objects.bulk_create(
        [
            _saved(team, user, collection, item, position)
            for position, item in enumerate(imported.requests)
        ]
    )
    return collection


def _saved(
    team: Team, user: User, collection: Collection, item: ImportedRequest, position: int
) -> SavedRequest:
    composed = Composed(
        method=item.method,
        url=item.url,
        params=item.params,
        headers=item.headers,
        body=item.body,
        api_key=item.api_key,
    )
    return SavedRequest(
        team=team,
        collection=collection,
        folder=item.folder[:500],
        name=item.name[:200] or f"Request {position + 1}",
        description=item.description,
        position=position,
        timeout_seconds=item.timeout,
        follow_redirects=item.follow_redirects,
        created_by=user,
        **_kept_fields(composed),
    )


@transaction.atomic
def save_run(
    *, run: Run, user: User, name: str, collection: Collection | None, new_collection: str
) -> SavedRequest:
    """A run's request kept in a collection (a new one when `new_collection` names it); a
    secret the run took from the vault is kept as its reference, not its value."""
    if collection is None:
        collection = Collection.objects.create(
            team=run.team, name=new_collection[:200], created_by=user
        )
    last = SavedRequest.objects.filter(collection=collection).order_by("-position").first()
    saved = SavedRequest.objects.create(
        team=run.team,
        collection=collection,
        name=name[:200],
        position=(last.position + 1) if last else 0,
        method=run.method,
        url=run.url,
        query=run.query,
        request_headers=run.request_headers,
        request_body=run.request_body,
        timeout_seconds=run.timeout_seconds,
        follow_redirects=run.follow_redirects,
        profile=run.profile,
        has_api_key=run.has_api_key,
        secrets_encrypted=secrets.encrypt(
            with_references(run=run, kept=secrets.decrypt(run.secrets_encrypted))
        ),
        created_by=user,
    )
    if not SavedRequestRun.objects.filter(run=run).exists():  # the run opens its history
        SavedRequestRun.objects.create(saved_request=saved, run=run)
    return saved


def run_request_of(saved: SavedRequest, *, variables: dict[str, str]) -> RunRequest:
    """The saved request, variables resolved, checked as the form checks a request."""
    return checked_request(
        composed_of(saved),
        timeout=saved.timeout_seconds,
        profile=saved.profile,
        follow=saved.follow_redirects,
        variables=variables,
    )


def checked_request(
    composed: Composed,
    *,
    timeout: float | None,
    profile: str,
    follow: bool,
    variables: dict[str, str] | None = None,
) -> RunRequest:
    """The request, {{variables}} resolved, checked as the form checks one; RequestRefused
    says what is wrong."""
    values = variables or {}
    missing: list[str] = []

    def pairs(found: list[tuple[str, str]], separator: str) -> str:
        return "\n".join(
            f"{resolve(n, values, missing)}{separator}{resolve(v, values, missing)}"
            for n, v in found
        )

    data = {
        "method": composed.method,
        "url": resolve(composed.url, values, missing),
        "params": pairs(composed.params, "="),
        "headers": pairs(composed.headers, ": "),
        "body": resolve(composed.body, values, missing),
        "api_key": resolve(composed.api_key, values, missing),
        "timeout": min(timeout or settings.EGRESS_DEFAULT_TIMEOUT, settings.EGRESS_MAX_TIMEOUT),
        "profile": profile,
        "follow_redirects": follow,
    }
    if missing:
        raise RequestRefused(
            "No value for "
            + ", ".join(f"{{{{{name}}}}}" for name in missing)
            + ": add it to the collection's variables or the environment's."
        )
    form = RunForm(data)
    if not form.is_valid():
        problems = [
            f"{form.fields[field].label or field if field in form.fields else 'request'}: "
            + " ".join(str(e) for e in errors)
            for field, errors in form.errors.items()
        ]
        raise RequestRefused(" ".join(problems))
    return form.to_request()


def variables_of(collection: Collection, environment: Environment | None = None) -> dict[str, str]:
    """The collection's variables, the environment's over them."""
    values = {str(name): str(value) for name, value in collection.variables}
    if environment is not None:
        values.update({str(name): str(value) for name, value in environment.variables})
    return values


def run_saved_request(
    *, saved: SavedRequest, user: User, environment: Environment | None = None
) -> Run:
    """One run of the saved request, noted in its history (with the environment it used);
    RequestRefused if it cannot be sent."""
    request = run_request_of(saved, variables=variables_of(saved.collection, environment))
    try:  # resolved before the transaction: a refusal is recorded even though nothing runs
        resolved = resolve_request(team=saved.team, user=user, request=request)
    except VaultRefused as refusal:
        raise RequestRefused(str(refusal)) from None
    with transaction.atomic():
        run = submit_resolved(team=saved.team, user=user, resolved=resolved)
        SavedRequestRun.objects.create(saved_request=saved, run=run, environment=environment)
    return run


def submit_in_environment(
    *,
    team: Team,
    user: User,
    request: RunRequest,
    environment: Environment | None,
    source: Run | None = None,
) -> Run:
    """A run of the new-request form, its {{variables}} already filled from `environment`:
    through the vault (VaultRefused, recorded, if a secret may not be sent there), and the
    environment noted with the run."""
    resolved = resolve_request(team=team, user=user, request=request)  # a refusal is kept
    with transaction.atomic():
        run = submit_resolved(team=team, user=user, resolved=resolved, source=source)
        if environment is not None:
            RunEnvironment.objects.create(run=run, environment=environment, name=environment.name)
    return run


def _submit(*, team: Team, user: User, request: RunRequest) -> Run:
    """Through the vault (which resolves {{vault:NAME}} or refuses); its refusal is ours."""
    try:
        return submit_with_vault(team=team, user=user, request=request)
    except VaultRefused as refusal:
        raise RequestRefused(str(refusal)) from None


@transaction.atomic
def run_collection(
    *, collection: Collection, user: User, environment: Environment | None = None
) -> CollectionRun:
    """A run of each request of the collection, all stored at once (bulk inserts); a
    request that cannot be sent is noted as skipped, with why."""
    variables = variables_of(collection, environment)
    collection_run = CollectionRun.objects.create(
        team=collection.team, collection=collection, created_by=user, environment=environment
    )
    skipped: list[list[str]] = []
    ready: list[tuple[int, SavedRequest, Resolved]] = []
    for position, saved in enumerate(collection.requests.all()):
        try:
            request = run_request_of(saved, variables=variables)
            resolved = resolve_request(team=collection.team, user=user, request=request)
        except (RequestRefused, VaultRefused) as refusal:
            skipped.append([saved.name, str(refusal)])
            continue
        ready.append((position, saved, resolved))
    runs = submit_resolved_many(
        team=collection.team, user=user, resolved=[item for _, _, item in ready]
    )
    SavedRequestRun.objects.bulk_create(
        [
            SavedRequestRun(
                saved_request=saved,
                run=run,
                collection_run=collection_run,
                position=position,
                environment=environment,
            )
            for (position, saved, _), run in zip(ready, runs, strict=True)
        ]
    )
    if skipped:
        collection_run.skipped = skipped
        collection_run.save(update_fields=["skipped"])
    return collection_run


@transaction.atomic
def import_openapi(
    *, team: Team, user: User, checked: CheckedDocument, imported: ImportedCollection
) -> tuple[Collection, SpecVersion]:
    """The document as the team's profile for its hosts (a new version of the profile that
    covers them, else a new profile) and its operations as a collection: both or nothing."""
    taken = hosts_taken(team=team, hosts=checked.spec.hosts)
    names = set(taken.values())
    covering = [p for p in SpecProfile.objects.for_team(team) if p.name in names]
    if len(covering) == 1:
        version = replace_profile(profile=covering[0], user=user, checked=checked)
    elif not covering:
        version = create_profile(team=team, user=user, checked=checked)
    else:
        raise SpecError(
            "Several profiles of the team cover this document's hosts ("
            + ", ".join(sorted(names))
            + "): delete all but one, then import again.",
            where="servers",
        )
    return import_collection(team=team, user=user, imported=imported), version


def edit_initial_of(saved: SavedRequest) -> dict[str, object]:
    """The edit form's values for a saved request, without its secret values."""
    return {
        **form_initial_of(saved),
        "api_key": "",
        "timeout": saved.timeout_seconds,
        "name": saved.name,
        "collection": saved.collection_id,
        "folder": saved.folder,
    }


@transaction.atomic
def update_saved_request(
    *,
    saved: SavedRequest,
    name: str,
    collection: Collection,
    folder: str,
    composed: Composed,
    timeout: float | None,
    profile: str,
    follow_redirects: bool,
) -> SavedRequest:
    """The saved request renamed, moved (last in a collection it moves to) and its request
    changed; its secrets kept as at import: encrypted, removed from every other column.
    Its history stays."""
    if collection.team_id != saved.team_id:
        raise RequestRefused("That collection is not the team's.")
    if collection.pk != saved.collection_id:
        last = SavedRequest.objects.filter(collection=collection).order_by("-position").first()
        saved.position = (last.position + 1) if last else 0
    saved.collection = collection
    saved.name = name[:200]
    saved.folder = folder.strip().strip("/")[:500]
    saved.timeout_seconds = timeout
    saved.profile = profile
    saved.follow_redirects = follow_redirects
    for column, value in _kept_fields(composed).items():
        setattr(saved, column, value)
    saved.save()
    return saved


def delete_saved_request(*, saved: SavedRequest) -> None:
    """The saved request and its history's links; the runs made from it stay in the log."""
    saved.delete()


def form_initial_of(saved: SavedRequest) -> dict[str, object]:
    """The new-request form's values for a saved request, without its secret values: a key
    that is only a reference ({{vault:NAME}}, {{variable}}) is given, as it holds none."""
    key = secrets.decrypt(saved.secrets_encrypted).api_key if saved.has_api_key else ""
    return {
        "api_key": key if VARIABLE.fullmatch(key) else "",
        "method": saved.method,
        "url": saved.url,
        "params": "\n".join(f"{n}={v}" for n, v in saved.query),
        "headers": "\n".join(f"{n}: {v}" for n, v in saved.request_headers),
        "body": saved.request_body,
        "timeout": saved.timeout_seconds or settings.EGRESS_DEFAULT_TIMEOUT,
        "profile": saved.profile,
        "follow_redirects": saved.follow_redirects,
    }


# HAR entries picked: sent, or diagnosed as recorded -----------------------------------------


def _checked_request(item: ImportedRequest) -> RunRequest:
    composed = Composed(
        method=item.method,
        url=item.url,
        params=item.params,
        headers=item.headers,
        body=item.body,
        api_key=item.api_key,
    )
    return checked_request(composed, timeout=item.timeout, profile="", follow=False)


@transaction.atomic
def submit_imported(*, team: Team, user: User, items: list[ImportedRequest]) -> list[Run]:
    """Each request sent as a run, or none: RequestRefused names the first that cannot be."""
    requests = []
    for item in items:
        try:
            requests.append(_checked_request(item))
        except RequestRefused as refusal:
            raise RequestRefused(f"“{item.name}”: {refusal}") from None
    return [_submit(team=team, user=user, request=r) for r in requests]


@transaction.atomic
def diagnose_recorded_entries(
    *, team: Team, user: User, entries: list[object], indexes: list[int]
) -> list[Run]:
    """Each entry stored as a run diagnosed as recorded (nothing is sent), or none:
    RequestRefused names the first entry that cannot be read."""
    runs = []
    for index in indexes:
        try:
            recorded = recorded_from_har_entry(entries[index])
        except RecordedInvalid as invalid:
            raise RequestRefused(f"Entry {index + 1}: {invalid.message}") from None
        runs.append(record_exchange(team=team, user=user, recorded=recorded))
    return runs


# Environments ---------------------------------------------------------------------------------


def check_environment_variables(text: str) -> list[list[str]]:
    """`name=value` lines; a variable named like a secret must take its value from the
    vault. RequestRefused names the line that is wrong."""
    found: list[list[str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not VARIABLE.fullmatch("{{" + name + "}}"):
            raise RequestRefused(f"Line {number} is not a variable: write it as 'name=value'.")
        if name.startswith("vault:"):
            raise RequestRefused(f"Line {number}: names starting with vault: are the vault's.")
        if is_secret_param(name) and value and not VAULT_ONLY.fullmatch(value):
            raise RequestRefused(
                f"Line {number}: “{name}” looks like a secret; environments are not "
                "encrypted, so give it a vault secret: {{vault:NAME}}."
            )
        found.append([name, value])
    return found


def save_environment(
    *,
    team: Team,
    user: User,
    name: str,
    variables: list[list[str]],
    environment: Environment | None,
) -> Environment:
    if environment is None:
        return Environment.objects.create(
            team=team, name=name, variables=variables, created_by=user
        )
    environment.name, environment.variables = name, variables
    environment.save(update_fields=["name", "variables", "updated_at"])
    return environment
