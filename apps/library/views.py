"""The Profiles pages: a team's OpenAPI profiles, upload, replace, delete, and what one
covers. Every page is the current team's; a profile of another team answers 404."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from apps.accounts.selectors import current_team
from apps.diagnosis.openapi import build_spec
from apps.library import selectors, services
from apps.library.forms import PasteRequestForm, SpecUploadForm, run_form_initial
from apps.library.models import SpecProfile
from apps.runs.forms import RunForm
from apps.runs.presets import preset_groups

# Checking a large document takes seconds of the web process: uploads are rate limited.
UPLOADS_PER_USER = "10/m"
TOO_MANY = "Too many documents uploaded in a short time: wait a minute, then upload again."


def _bound_form(request: HttpRequest) -> SpecUploadForm:
    return SpecUploadForm(request.POST, request.FILES)


def _too_many(request: HttpRequest) -> SpecUploadForm | None:
    """When the user uploaded too often: the form as it was, unchecked, saying so."""
    if not getattr(request, "limited", False):
        return None
    return SpecUploadForm(initial={"text": request.POST.get("text", "")})


def _taken_error(form: SpecUploadForm, taken: dict[str, str]) -> None:
    listed = "; ".join(f"`{host}` by “{name}”" for host, name in taken.items())
    field = "file" if form.cleaned_data.get("file") else "text"
    form.add_error(
        field,
        f"Another profile of the team already covers {listed}: replace that profile instead.",
    )


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit(key="user", rate=UPLOADS_PER_USER, method="POST", group="spec-upload", block=False)
def profiles(request: HttpRequest) -> HttpResponse:
    """The team's profiles, and the upload of a new one."""
    team = current_team(request)
    form = SpecUploadForm()
    limited = _too_many(request) if request.method == "POST" else None
    if limited is not None:
        form = limited
    elif request.method == "POST" and team is not None:
        form = _bound_form(request)
        if form.is_valid():
            checked = form.checked
            taken = services.hosts_taken(team=team, hosts=checked.spec.hosts)
            if taken:
                _taken_error(form, taken)
            else:
                version = services.create_profile(team=team, user=request.user, checked=checked)
                messages.success(
                    request,
                    f"Profile “{version.title}” created: runs to "
                    f"{', '.join(version.profile.hosts)} are diagnosed against it.",
                )
                return redirect("library:profile", profile_id=version.profile_id)
    status = 429 if limited is not None else 400 if form.is_bound and form.errors else 200
    context = {
        "team": team,
        "profiles": selectors.profiles_of(team=team) if team else [],
        "form": form,
        "too_many": TOO_MANY if limited is not None else "",
    }
    return render(request, "library/profiles.html", context, status=status)


def _profile_context(profile: SpecProfile, form: SpecUploadForm) -> dict[str, object]:
    versions = list(profile.versions.all())
    latest = versions[0] if versions else None
    return {
        "profile": profile,
        "versions": versions,
        "latest": latest,
        "spec": build_spec(latest.document) if latest else None,
        "form": form,
    }


@login_required
def profile_detail(request: HttpRequest, profile_id: uuid.UUID) -> HttpResponse:
    """What a profile covers: hosts, auth, operations with parameters and responses."""
    profile = selectors.get_profile_for_user(user=request.user, profile_id=profile_id)
    return render(
        request, "library/profile_detail.html", _profile_context(profile, SpecUploadForm())
    )


@login_required
@require_POST
@ratelimit(key="user", rate=UPLOADS_PER_USER, method="POST", group="spec-upload", block=False)
def replace_profile(request: HttpRequest, profile_id: uuid.UUID) -> HttpResponse:
    """A new version of the profile from a new document."""
    profile = selectors.get_profile_for_user(user=request.user, profile_id=profile_id)
    limited = _too_many(request)
    if limited is not None:
        context = {**_profile_context(profile, limited), "too_many": TOO_MANY}
        return render(request, "library/profile_detail.html", context, status=429)
    form = _bound_form(request)
    if form.is_valid():
        checked = form.checked
        taken = services.hosts_taken(team=profile.team, hosts=checked.spec.hosts, but=profile)
        if taken:
            _taken_error(form, taken)
        else:
            version = services.replace_profile(profile=profile, user=request.user, checked=checked)
            messages.success(request, f"Version {version.number} of “{version.title}” is in use.")
            return redirect("library:profile", profile_id=profile.pk)
    return render(
        request, "library/profile_detail.html", _profile_context(profile, form), status=400
    )


@login_required
@require_http_methods(["GET", "POST"])
def delete_profile(request: HttpRequest, profile_id: uuid.UUID) -> HttpResponse:
    """A page that asks first (GET), then the deletion (POST)."""
    profile = selectors.get_profile_for_user(user=request.user, profile_id=profile_id)
    if request.method == "GET":
        return render(request, "library/delete.html", {"profile": profile})
    name = profile.name
    services.delete_profile(profile=profile)
    messages.success(request, f"Profile “{name}” deleted. Runs it explained keep their diagnosis.")
    return redirect("library:profiles")


# Import into the new-request form ---------------------------------------------------------


@login_required
@require_POST
@sensitive_post_parameters("text")
def import_request(request: HttpRequest) -> HttpResponse:
    """A pasted cURL command or raw HTTP request fills the new-request form; nothing is sent
    until the person presses Send. What the form cannot honour is said above it."""
    paste = PasteRequestForm(request.POST)
    if paste.is_valid():
        parsed = paste.parsed
        form = RunForm(initial=run_form_initial(parsed))
        for warning in parsed.warnings:
            messages.warning(request, warning)
        messages.info(request, "Imported into the form: check it, then send it.")
        paste = PasteRequestForm()
        status = 200
    else:
        form = RunForm(initial={"method": "GET"})
        status = 400
    context = {
        "form": form,
        "paste_form": paste,
        "source": None,
        "preset_groups": preset_groups(),
        "sandbox_base": request.build_absolute_uri("/sandbox").rstrip("/"),
    }
    return render(request, "runs/new.html", context, status=status)
