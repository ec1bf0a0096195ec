"""The team vault: the only code that decrypts its secrets. Secrets are written (created,
rotated, re-bound, deleted) by the team's owners, and used by every member by name, as
`{{vault:NAME}}`, where a credential goes: the API key, a credential header (Authorization,
X-Api-Key, Cookie, …) or a secret parameter (api_key, token, …). The run that uses one
stores it as it stores any secret of the form: encrypted, and removed by value from every
other column (apps.runs.services.submit_run with the one redaction policy of
apps.egress.redaction). Every change and use is recorded."""

import dataclasses
import logging
import re
from urllib.parse import urlsplit

from django.contrib.auth.models import User
from django.db import transaction

from apps.accounts.models import Team
from apps.accounts.selectors import is_owner
from apps.egress.redaction import is_secret_header, is_secret_param
from apps.runs import services as run_services
from apps.runs.forms import RunRequest
from apps.runs.models import Run
from apps.runs.secrets import RunSecrets, fernet
from apps.vault.models import VaultEvent, VaultSecret

logger = logging.getLogger(__name__)

REFERENCE = re.compile(r"\{\{\s*vault:([^{}\s]*)\s*\}\}")
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
HOST_PATTERN = re.compile(r"^(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+$|^\[?[0-9a-f:.]+\]?$")
MAX_VALUE_CHARS = 4000


class VaultRefused(Exception):
    """A use or change of the vault that cannot be done; the message says why, to people."""


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME.match(name):
        raise VaultRefused(
            "A name starts with a letter and has letters, digits, '_', '.' or '-' only "
            "(at most 100)."
        )
    return name


def check_hosts(text: str) -> list[str]:
    """Host patterns, one per line or comma-separated: `api.example.com`, `*.example.com`."""
    hosts = []
    for raw in re.split(r"[\s,]+", text.strip().lower()):
        if not raw:
            continue
        if "://" in raw or "/" in raw or not HOST_PATTERN.match(raw):
            raise VaultRefused(
                f"“{raw[:60]}” is not a host pattern: write a host (api.example.com) or "
                "*. and a domain (*.example.com), without scheme or path."
            )
        if raw not in hosts:
            hosts.append(raw)
    if not hosts:
        raise VaultRefused("Give at least one host it may be sent to.")
    return hosts


def host_allowed(host: str, patterns: list[str]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and host != pattern[2:]:
                return True
        elif host == pattern.strip("[]"):
            return True
    return False


def check_value(value: str) -> str:
    if not value:
        raise VaultRefused("Give the secret's value.")
    if len(value) > MAX_VALUE_CHARS:
        raise VaultRefused(f"A value has at most {MAX_VALUE_CHARS} characters.")
    if any(ord(ch) < 32 for ch in value):
        raise VaultRefused("A value has no line breaks or control characters.")
    return value


def _event(secret: VaultSecret, action: str, user: User | None, **fields: object) -> None:
    VaultEvent.objects.create(
        team=secret.team, secret=secret, secret_name=secret.name, action=action, user=user,
        **fields,
    )  # fmt: skip


@transaction.atomic
def create_secret(
    *, team: Team, user: User, name: str, value: str, hosts: list[str], description: str = ""
) -> VaultSecret:
    if not is_owner(user=user, team_id=team.pk):
        raise VaultRefused("Only the team's owners add secrets.")
    if VaultSecret.objects.for_team(team).filter(name=name).exists():
        raise VaultRefused(f"The team has a secret named “{name}” already: replace its value.")
    secret = VaultSecret.objects.create(
        team=team,
        name=name,
        value_encrypted=fernet().encrypt(check_value(value).encode()),
        hosts=hosts,
        description=description,
        created_by=user,
    )
    _event(secret, VaultEvent.Action.CREATED, user, detail="hosts: " + ", ".join(hosts))
    logger.info("vault secret %s created by user %s", secret.pk, user.pk)
    return secret


@transaction.atomic
def rotate_secret(*, secret: VaultSecret, user: User, value: str) -> VaultSecret:
    """A new value under the same name; requests that use it get the new one from now on."""
    if not is_owner(user=user, team_id=secret.team_id):
        raise VaultRefused("Only the team's owners replace secrets.")
    secret.value_encrypted = fernet().encrypt(check_value(value).encode())
    secret.version += 1
    secret.save(update_fields=["value_encrypted", "version", "updated_at"])
    _event(secret, VaultEvent.Action.ROTATED, user, detail=f"version {secret.version}")
    return secret


@transaction.atomic
def rebind_secret(*, secret: VaultSecret, user: User, hosts: list[str]) -> VaultSecret:
    if not is_owner(user=user, team_id=secret.team_id):
        raise VaultRefused("Only the team's owners change where a secret may be sent.")
    secret.hosts = hosts
    secret.save(update_fields=["hosts", "updated_at"])
    _event(secret, VaultEvent.Action.BOUND, user, detail="hosts: " + ", ".join(hosts))
    return secret


@transaction.atomic
def delete_secret(*, secret: VaultSecret, user: User) -> None:
    if not is_owner(user=user, team_id=secret.team_id):
        raise VaultRefused("Only the team's owners delete secrets.")
    _event(secret, VaultEvent.Action.DELETED, user)
    secret.delete()


# Use -----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Resolved:
    request: RunRequest
    used: list[VaultSecret]


def references_in(request: RunRequest) -> bool:
    texts = [request.url, request.body, request.api_key]
    texts += [value for pair in request.headers + request.params for value in pair]
    return any(REFERENCE.search(text) for text in texts)


def resolve_request(*, team: Team, user: User, request: RunRequest) -> Resolved:
    """The request with each {{vault:NAME}} replaced by the secret's value, after checking
    that the secret exists, that it is where a credential goes, and that the request's host
    is one it is bound to. VaultRefused (and the refusal recorded) otherwise."""
    if not references_in(request):
        return Resolved(request=request, used=[])
    host = (urlsplit(request.url).hostname or "").lower()
    elsewhere = [request.url, request.body] + [name for name, _ in request.headers + request.params]
    elsewhere += [v for n, v in request.headers if not is_secret_header(n)]
    elsewhere += [v for n, v in request.params if not is_secret_param(n)]
    if any(REFERENCE.search(text) for text in elsewhere):
        raise VaultRefused(
            "A vault secret can only be sent as the API key, in a credential header "
            "(Authorization, X-Api-Key, Cookie, …) or a secret parameter (api_key, token, …), "
            "where it is stored encrypted and redacted everywhere else."
        )
    secrets = {s.name: s for s in VaultSecret.objects.for_team(team)}
    used: dict[str, VaultSecret] = {}

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        secret = secrets.get(name)
        if secret is None:
            raise VaultRefused(f"The team's vault has no secret named “{name}”.")
        if not host_allowed(host, secret.hosts):
            _event(secret, VaultEvent.Action.REFUSED, user, detail=f"host: {host}"[:300])
            raise VaultRefused(
                f"The vault secret “{name}” may only be sent to {', '.join(secret.hosts)}; "
                f"this request goes to {host or 'no host'}. An owner can add the host to it."
            )
        used[name] = secret
        return fernet().decrypt(bytes(secret.value_encrypted)).decode()

    def sub(text: str) -> str:
        return REFERENCE.sub(value_of, text)

    resolved = dataclasses.replace(
        request,
        api_key=sub(request.api_key),
        headers=[(n, sub(v)) for n, v in request.headers],
        params=[(n, sub(v)) for n, v in request.params],
    )
    return Resolved(request=resolved, used=list(used.values()))


def record_use(*, used: list[VaultSecret], user: User, run: Run) -> None:
    for secret in used:
        _event(secret, VaultEvent.Action.USED, user, run=run)


def submit_with_vault(
    *, team: Team, user: User, request: RunRequest, source: Run | None = None
) -> Run:
    """Submit a run whose request may name vault secrets: resolved (or VaultRefused), then
    stored by the runs service like any other secret of the form, and each use recorded."""
    return submit_resolved(
        team=team,
        user=user,
        resolved=resolve_request(team=team, user=user, request=request),
        source=source,
    )


def submit_resolved(
    *, team: Team, user: User, resolved: Resolved, source: Run | None = None
) -> Run:
    with transaction.atomic(savepoint=False):  # no savepoint in a caller's transaction
        run = run_services.submit_run(team=team, user=user, request=resolved.request, source=source)
        record_use(used=resolved.used, user=user, run=run)
    return run


def reauthenticate_with_vault(*, run: Run, user: User, request: RunRequest, save_as: str) -> Run:
    """Re-authenticate: the run sent again with a new key; with `save_as`, the key is kept in
    the vault first (a new secret bound to the run's host, or a new value of that secret)
    and the run takes it from there."""
    if not save_as:
        return submit_with_vault(team=run.team, user=user, request=request, source=run)
    name = check_name(save_as)
    with transaction.atomic():
        existing = VaultSecret.objects.for_team(run.team).filter(name=name).first()
        if existing is None:
            create_secret(team=run.team, user=user, name=name, value=request.api_key,
                          hosts=[run.host.lower()])  # fmt: skip
        else:
            rotate_secret(secret=existing, user=user, value=request.api_key)
        by_name = dataclasses.replace(request, api_key=f"{{{{vault:{name}}}}}")
        return submit_with_vault(team=run.team, user=user, request=by_name, source=run)


def with_references(*, run: Run, kept: RunSecrets) -> RunSecrets:
    """A run's kept secrets with each value it took from the vault given back as its
    {{vault:NAME}} reference: a request kept from the run gets the secret's new value after
    a rotation, and its host binding is checked again each time it is sent."""
    used = VaultSecret.objects.filter(
        team=run.team, events__run=run, events__action=VaultEvent.Action.USED
    ).distinct()
    references = {fernet().decrypt(bytes(s.value_encrypted)).decode(): s.name for s in used}
    if not references:
        return kept

    def by_name(text: str) -> str:
        for value, name in references.items():
            text = text.replace(value, f"{{{{vault:{name}}}}}")
        return text

    return dataclasses.replace(
        kept,
        api_key=by_name(kept.api_key),
        headers=[(n, by_name(v)) for n, v in kept.headers],
        params=[(n, by_name(v)) for n, v in kept.params],
    )


def submit_resolved_many(*, team: Team, user: User, resolved: list[Resolved]) -> list[Run]:
    """Several resolved requests stored at once (bulk inserts), each use recorded."""
    with transaction.atomic(savepoint=False):
        runs = run_services.submit_runs(
            team=team, user=user, requests=[item.request for item in resolved]
        )
        VaultEvent.objects.bulk_create(
            [
                VaultEvent(
                    team=team,
                    secret=secret,
                    secret_name=secret.name,
                    action=VaultEvent.Action.USED,
                    user=user,
                    run=run,
                )
                for item, run in zip(resolved, runs, strict=True)
                for secret in item.used
            ]
        )
    return runs
