"""The project's catalog, read from its data files once per process, and shortcuts to it."""

import functools

from apps.diagnosis.data_files import DATA_DIR, load_catalog
from apps.diagnosis.profiles import Catalog, CatalogEntry, CauseEntry, Playbook, Profile


@functools.cache
def catalog() -> Catalog:
    """The catalog of this project's data files, read once per process."""
    return load_catalog(DATA_DIR)


def profiles() -> list[Profile]:
    """Every profile, by slug, the generic fallback last."""
    return list(catalog().profiles)


def get_profile(slug: str) -> Profile:
    """The profile with this slug; KeyError if there is none."""
    return catalog().get_profile(slug)


def profile_for_url(url: str) -> Profile:
    """The profile for a request URL: host match, then path prefix, else generic HTTP."""
    return catalog().profile_for_url(url)


def playbooks() -> list[Playbook]:
    return list(catalog().playbooks.values())


def get_playbook(slug: str) -> Playbook:
    """The playbook with this slug; KeyError if there is none."""
    return catalog().get_playbook(slug)


def failure_entries() -> list[CatalogEntry]:
    """The entries for failures without a response, one per FailureKind."""
    return list(catalog().failures.values())


def entries_leading_to(playbook_slug: str) -> list[CatalogEntry]:
    """Every catalog entry (of every profile, and network failures) naming the playbook."""
    return catalog().entries_leading_to(playbook_slug)


def causes_leading_to(playbook_slug: str) -> list[CauseEntry]:
    """Every cause (of every profile, and of network failures) naming the playbook."""
    return catalog().causes_leading_to(playbook_slug)


def failure_details() -> list[CauseEntry]:
    """The finer causes of failures without a response, kind by kind."""
    return [c for found in catalog().failure_details.values() for c in found.values()]
