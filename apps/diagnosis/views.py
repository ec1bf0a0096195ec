"""Help pages: the error catalog of every API profile, the causes the diagnosis tells apart,
and the remediation playbooks. Public: they describe APIs, not anyone's data."""

import uuid
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from apps.diagnosis import lookups
from apps.diagnosis.profiles import NETWORK, Profile


def _profile_view(profile: Profile) -> dict[str, Any]:
    """What the index shows of a profile: how the API is called, and its lookups."""
    return {
        "profile": profile,
        "auth": profile.auth,
        "envelope": profile.envelope.fields(),
        "params": list(profile.params.values()),
        "templates": profile.paths.templates,
        "causes": profile.cause_entries(),
        "codes": sorted(profile.codes.values(), key=lambda entry: entry.code.lower()),
    }


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "diagnosis/index.html",
        {
            "playbooks": lookups.playbooks(),
            "profiles": lookups.profiles(),
            "profile_views": [_profile_view(p) for p in lookups.profiles()],
            "failures": [
                {"entry": entry, "details": lookups.catalog().failure_details.get(kind, {})}
                for kind, entry in lookups.catalog().failures.items()
            ],
        },
    )


@require_safe
def playbook(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        found = lookups.get_playbook(slug)
    except KeyError:
        raise Http404("No such playbook") from None
    profile_names = {p.slug: p.name for p in lookups.profiles()}
    profile_names[NETWORK] = "Network failures"
    return render(
        request,
        "diagnosis/playbook.html",
        {
            "playbook": found,
            "back_to_run": _run_link(request.GET.get("run", "")),
            "profile_steps": [
                {
                    "name": profile_names.get(ps.profile, ps.profile),
                    "steps": ps.steps,
                    "links": ps.links,
                }
                for ps in found.profile_steps
            ],
            "entries": [
                {"entry": entry, "source_name": profile_names.get(entry.source, entry.source)}
                for entry in lookups.entries_leading_to(found.slug)
            ],
            "causes": [
                {"cause": cause, "source_name": profile_names.get(cause.source, cause.source)}
                for cause in lookups.causes_leading_to(found.slug)
            ],
        },
    )


def _run_link(value: str) -> str:
    """The page of the run a playbook was opened from, or "". Only the id's form is checked:
    the run's page answers 404 to whoever may not see it."""
    try:
        return reverse("runs:detail", args=[uuid.UUID(value)])
    except ValueError:
        return ""
