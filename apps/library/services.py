"""Writes of the library: uploading, replacing and deleting a team's OpenAPI profiles."""

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction

from apps.accounts.models import Team
from apps.diagnosis.openapi import Document, Spec, SpecError, build_spec, load_document
from apps.library.models import SpecProfile, SpecVersion

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
