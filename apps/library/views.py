"""The Profiles pages: a team's OpenAPI profiles, upload, replace, delete, and what one
covers. Every page is the current team's; a profile of another team answers 404."""

import json
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from apps.accounts.models import Team
from apps.accounts.selectors import current_team
from apps.diagnosis.openapi import SpecError, build_spec
from apps.library import exporters, selectors, services
from apps.library.forms import (
    CollectionImportForm,
    EnvironmentForm,
    HarForm,
    PasteRequestForm,
    SavedRequestForm,
    SaveRunForm,
    SpecUploadForm,
    run_form_initial,
)
from apps.library.importers.har import har_entries
from apps.library.models import Collection, Environment, SavedRequest, SpecProfile
from apps.library.snippets import snippets_of_saved
from apps.runs import selectors as run_selectors
from apps.runs.forms import RunForm
from apps.runs.models import Run
from apps.runs.presets import preset_groups
from dashboard.requests import AuthenticatedHttpRequest

# Checking a large document takes seconds of the web process: uploads are rate limited.
UPLOADS_PER_USER = "10/m"
TOO_MANY = "Too many documents uploaded in a short time: wait a minute, then upload again."
RUN_TOO_MANY = "Too many requests submitted in a short time: wait a minute, then send again."


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
def profiles(request: AuthenticatedHttpRequest) -> HttpResponse:
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
def replace_profile(request: AuthenticatedHttpRequest, profile_id: uuid.UUID) -> HttpResponse:
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


def _form_options(request: HttpRequest) -> selectors.RunFormOptions:
    return selectors.run_form_options(team=current_team(request))


@login_required
@require_POST
@sensitive_post_parameters("text")
def import_request(request: HttpRequest) -> HttpResponse:
    """A pasted cURL command or raw HTTP request fills the new-request form; nothing is sent
    until the person presses Send. What the form cannot honour is said above it."""
    paste = PasteRequestForm(request.POST)
    if paste.is_valid():
        parsed = paste.parsed
        form = RunForm(initial=run_form_initial(parsed), **_form_options(request))
        for warning in parsed.warnings:
            messages.warning(request, warning)
        messages.info(request, "Imported into the form: check it, then send it.")
        paste = PasteRequestForm()
        status = 200
    else:
        form = RunForm(initial={"method": "GET"}, **_form_options(request))
        status = 400
    context = {
        "form": form,
        "paste_form": paste,
        "source": None,
        "preset_groups": preset_groups(),
        "sandbox_base": request.build_absolute_uri("/sandbox").rstrip("/"),
    }
    return render(request, "runs/new.html", context, status=status)


# Saved requests and collections -----------------------------------------------------------


def _submission_limit(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_SUBMIT


def _limited(request: HttpRequest) -> bool:
    return bool(getattr(request, "limited", False))


@login_required
@require_http_methods(["GET", "POST"])
@ratelimit(key="user", rate=UPLOADS_PER_USER, method="POST", group="collection-import", block=False)
def collections(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The team's collections, and the import of a new one (Postman, OpenAPI, HAR, own)."""
    team = current_team(request)
    form = CollectionImportForm()
    status = 200
    if request.method == "POST" and _limited(request):
        form = CollectionImportForm(request.POST, request.FILES)  # bound: it can carry errors
        form.add_error(None, TOO_MANY)
        status = 429
    elif request.method == "POST" and team is not None:
        form = CollectionImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                collection = _import(request, team, form)
            except SpecError as error:
                form.add_error("file" if form.cleaned_data.get("file") else "text", str(error))
            else:
                for warning in form.imported.warnings:
                    messages.warning(request, warning)
                return redirect("saved:collection", collection_id=collection.pk)
        status = 400
    context = {
        "team": team,
        "collections": selectors.collections_of(team=team) if team else [],
        "form": form,
    }
    return render(request, "library/collections.html", context, status=status)


def _import(
    request: AuthenticatedHttpRequest, team: Team, form: CollectionImportForm
) -> Collection:
    imported = form.imported
    checked = form.openapi
    if checked is None:
        collection = services.import_collection(team=team, user=request.user, imported=imported)
        messages.success(
            request, f"Imported “{collection.name}”: {len(imported.requests)} requests."
        )
        return collection
    collection, version = services.import_openapi(
        team=team, user=request.user, checked=checked, imported=imported
    )
    messages.success(
        request,
        f"Imported “{collection.name}”: {len(imported.requests)} requests. Runs to "
        f"{', '.join(version.profile.hosts)} are diagnosed against the document "
        f"(profile version {version.number}).",
    )
    return collection


def _folders(requests: list[SavedRequest]) -> list[tuple[str, list[SavedRequest]]]:
    grouped: dict[str, list[SavedRequest]] = {}
    for saved in requests:
        grouped.setdefault(saved.folder, []).append(saved)
    return sorted(grouped.items())


@login_required
def collection_detail(request: AuthenticatedHttpRequest, collection_id: uuid.UUID) -> HttpResponse:
    """A collection's requests by folder, its variables, its latest runs, its exports."""
    collection = selectors.get_collection_for_user(user=request.user, collection_id=collection_id)
    context = {
        "collection": collection,
        "folders": _folders(list(collection.requests.all())),
        "collection_runs": selectors.latest_collection_runs(collection=collection),
        "environments": selectors.environments_of(team=collection.team),
    }
    return render(request, "library/collection_detail.html", context)


@login_required
@require_POST
@ratelimit(key="user", rate=_submission_limit, method="POST", group="submit", block=False)
def run_collection(request: AuthenticatedHttpRequest, collection_id: uuid.UUID) -> HttpResponse:
    """Each request of the collection sent as a run; the summary page follows them."""
    collection = selectors.get_collection_for_user(user=request.user, collection_id=collection_id)
    if _limited(request):
        messages.error(request, RUN_TOO_MANY)
        return redirect("saved:collection", collection_id=collection.pk)
    environment = selectors.environment_of_post(
        user=request.user, team=collection.team, value=request.POST.get("environment", "")
    )
    collection_run = services.run_collection(
        collection=collection, user=request.user, environment=environment
    )
    return redirect("saved:collection_run", collection_run_id=collection_run.pk)


# A summary page asks for its fragment this often while a run of it is not finished.
SUMMARY_POLL_MS = 1000
HTMX_STOP_POLLING = 286


@login_required
def collection_run_detail(
    request: AuthenticatedHttpRequest, collection_run_id: uuid.UUID
) -> HttpResponse:
    """Each request's outcome and diagnosis, live while the runs are not finished."""
    collection_run = selectors.get_collection_run_for_user(
        user=request.user, collection_run_id=collection_run_id
    )
    items = selectors.runs_of_collection_run(collection_run=collection_run)
    pending = [item for item in items if not item.run.is_finished]
    counts: dict[str, int] = {}
    for item in items:
        key = _outcome_class(item.run)
        counts[key] = counts.get(key, 0) + 1
    context = {
        "collection_run": collection_run,
        "collection": collection_run.collection,
        "items": items,
        "pending": pending,
        "counts": sorted(counts.items()),
        "poll_ms": SUMMARY_POLL_MS,
    }
    if request.htmx:
        status = 200 if pending else HTMX_STOP_POLLING
        return render(request, "library/collection_run.html#summary", context, status=status)
    return render(request, "library/collection_run.html", context)


def _outcome_class(run: Run) -> str:
    if not run.is_finished:
        return "pending"
    if run.response_status is None:
        return "no response"
    return f"{run.response_status // 100}xx"


@login_required
def export_collection(
    request: AuthenticatedHttpRequest, collection_id: uuid.UUID, kind: str
) -> HttpResponse:
    """The collection as a download: own JSON or Postman v2.1; secrets as variables."""
    collection = selectors.get_collection_for_user(user=request.user, collection_id=collection_id)
    if kind == "postman":
        data, suffix = exporters.postman_export(collection), ".postman_collection.json"
    else:
        data, suffix = exporters.native_export(collection), ".collection.json"
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n",
        content_type="application/json; charset=utf-8",
    )
    name = slugify(collection.name) or "collection"
    response["Content-Disposition"] = content_disposition_header(True, f"{name}{suffix}")
    return response


@login_required
def saved_request_detail(request: AuthenticatedHttpRequest, saved_id: uuid.UUID) -> HttpResponse:
    """A saved request (redacted), how to copy it, and its history."""
    saved = selectors.get_saved_request_for_user(user=request.user, saved_id=saved_id)
    context = {
        "saved": saved,
        "history": selectors.history_of(saved=saved),
        "snippets": snippets_of_saved(saved),
        "environments": selectors.environments_of(team=saved.team),
    }
    return render(request, "library/saved_request.html", context)


@login_required
@require_POST
@ratelimit(key="user", rate=_submission_limit, method="POST", group="submit", block=False)
def run_saved_request(request: AuthenticatedHttpRequest, saved_id: uuid.UUID) -> HttpResponse:
    saved = selectors.get_saved_request_for_user(user=request.user, saved_id=saved_id)
    if _limited(request):
        messages.error(request, RUN_TOO_MANY)
        return redirect("saved:request", saved_id=saved.pk)
    environment = selectors.environment_of_post(
        user=request.user, team=saved.team, value=request.POST.get("environment", "")
    )
    try:
        run = services.run_saved_request(saved=saved, user=request.user, environment=environment)
    except services.RequestRefused as refusal:
        messages.error(request, f"“{saved.name}” was not sent: {refusal}")
        return redirect("saved:request", saved_id=saved.pk)
    return redirect("runs:detail", run_id=run.pk)


@login_required
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("api_key", "headers", "params", "body")
def edit_saved_request(request: AuthenticatedHttpRequest, saved_id: uuid.UUID) -> HttpResponse:
    """Rename it, move it to another collection or folder, change its request."""
    saved = selectors.get_saved_request_for_user(user=request.user, saved_id=saved_id)
    vault_names = selectors.run_form_options(team=saved.team)["vault_names"]
    form = SavedRequestForm(
        request.POST or None,
        saved=saved,
        vault_names=vault_names,
        initial=services.edit_initial_of(saved),
    )
    if request.method == "POST" and form.is_valid():
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
        messages.success(request, f"“{saved.name}” saved in “{saved.collection.name}”.")
        return redirect("saved:request", saved_id=saved.pk)
    status = 400 if form.is_bound else 200
    context = {"saved": saved, "form": form}
    return render(request, "library/saved_request_edit.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def delete_saved_request(request: AuthenticatedHttpRequest, saved_id: uuid.UUID) -> HttpResponse:
    """A page that asks first (GET), then the deletion (POST); its runs stay in the log."""
    saved = selectors.get_saved_request_for_user(user=request.user, saved_id=saved_id)
    if request.method == "GET":
        context = {"saved": saved, "history_count": saved.history.count()}
        return render(request, "library/saved_request_delete.html", context)
    name, collection_id = saved.name, saved.collection_id
    services.delete_saved_request(saved=saved)
    messages.success(request, f"“{name}” deleted; its runs stay in the log.")
    return redirect("saved:collection", collection_id=collection_id)


@login_required
def open_saved_request(request: AuthenticatedHttpRequest, saved_id: uuid.UUID) -> HttpResponse:
    """The saved request in the new-request form. Its latest run carries its secrets (the
    form restores them from it) when it was made after the request's last change; else
    secret values are left for the person to give."""
    saved = selectors.get_saved_request_for_user(user=request.user, saved_id=saved_id)
    latest = selectors.history_of(saved=saved, limit=1)
    if latest and latest[0].url == saved.url and latest[0].created_at >= saved.updated_at:
        return redirect(f"{reverse('runs:new')}?from={latest[0].pk}")
    form = RunForm(
        initial=services.form_initial_of(saved),
        **selectors.run_form_options(team=saved.team),
    )
    if saved.has_api_key or saved.secrets_encrypted:
        messages.info(
            request,
            "Its secret values are kept encrypted and are not shown: give them again here, or "
            "run it from its page.",
        )
    context = {
        "form": form,
        "source": None,
        "preset_groups": preset_groups(),
        "sandbox_base": request.build_absolute_uri("/sandbox").rstrip("/"),
    }
    return render(request, "runs/new.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def save_run(request: AuthenticatedHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """Keep a run's request in a collection (its secrets stay encrypted, as the run's)."""
    run = run_selectors.get_run_for_user(user=request.user, run_id=run_id)
    initial = {"name": f"{run.method} {run.host}{urlsplit(run.url).path}"[:200]}
    form = SaveRunForm(request.POST or None, team=run.team, initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = services.save_run(
            run=run,
            user=request.user,
            name=form.cleaned_data["name"],
            collection=form.cleaned_data["collection"],
            new_collection=form.cleaned_data["new_collection"].strip(),
        )
        messages.success(request, f"Saved as “{saved.name}” in “{saved.collection.name}”.")
        return redirect("saved:request", saved_id=saved.pk)
    status = 400 if form.is_bound else 200
    return render(request, "library/save_run.html", {"form": form, "run": run}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("text")
@ratelimit(key="user", rate=_submission_limit, method="POST", group="submit", block=False)
def import_har(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A HAR file's entries, to pick: saved in a collection, sent, or diagnosed as recorded
    (nothing sent). Each of them all or nothing."""
    team = current_team(request)
    posted = request.method == "POST"
    form = HarForm(request.POST if posted else None, request.FILES if posted else None)
    status = 200
    if request.method == "POST" and _limited(request):
        form.add_error(None, RUN_TOO_MANY)
        status = 429
    elif request.method == "POST" and team is None:
        form.add_error(None, "You are not a member of any team, so nothing can be kept.")
        status = 400
    elif request.method == "POST" and form.is_valid():
        done = _act_on_har(request, team, form)
        if done is not None:
            return done
        status = 200 if form.cleaned_data["action"] == "read" and not form.errors else 400
    elif request.method == "POST":
        status = 400
    return render(request, "library/har.html", {"form": form}, status=status)


def _act_on_har(
    request: AuthenticatedHttpRequest, team: Team | None, form: HarForm
) -> HttpResponse | None:
    action = form.cleaned_data["action"]
    if team is None or action == "read":
        return None
    try:
        if action == HarForm.SAVE:
            picked = form.imported
            picked.requests = form.picked
            collection = services.import_collection(team=team, user=request.user, imported=picked)
            messages.success(request, f"Saved {len(picked.requests)} requests.")
            return redirect("saved:collection", collection_id=collection.pk)
        if action == HarForm.SUBMIT:
            runs = services.submit_imported(team=team, user=request.user, items=form.picked)
        else:
            runs = services.diagnose_recorded_entries(
                team=team,
                user=request.user,
                entries=har_entries(form.cleaned_data["text"]),
                indexes=[r.source_index for r in form.picked if r.source_index is not None],
            )
    except services.RequestRefused as refusal:
        form.add_error("entries", f"Nothing was done: {refusal}")
        return None
    if len(runs) == 1:
        return redirect("runs:detail", run_id=runs[0].pk)
    messages.success(request, f"{len(runs)} runs stored: they are at the top of the log.")
    return redirect("home")


# Environments ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def environments(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The team's environments, and a new one."""
    team = current_team(request)
    form = EnvironmentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if team is not None and form.is_valid():
            return _save_environment(request, team, form, None)
        status = 400
    context = {
        "team": team,
        "environments": selectors.environments_of(team=team) if team else [],
        "form": form,
    }
    return render(request, "library/environments.html", context, status=status)


def _save_environment(
    request: AuthenticatedHttpRequest,
    team: Team,
    form: EnvironmentForm,
    environment: Environment | None,
) -> HttpResponse:
    name = form.cleaned_data["name"]
    clash = Environment.objects.for_team(team).filter(name=name)
    if environment is not None:
        clash = clash.exclude(pk=environment.pk)
    if clash.exists():
        form.add_error("name", f"The team has an environment named “{name}” already.")
        template = "library/environment.html" if environment else "library/environments.html"
        context = {"team": team, "environment": environment, "form": form,
                   "environments": selectors.environments_of(team=team)}  # fmt: skip
        return render(request, template, context, status=400)
    saved = services.save_environment(
        team=team, user=request.user, name=name,
        variables=form.cleaned_data["variables"], environment=environment,
    )  # fmt: skip
    messages.success(request, f"Environment “{saved.name}” saved.")
    return redirect("saved:environment", environment_id=saved.pk)


@login_required
@require_http_methods(["GET", "POST"])
def environment_detail(
    request: AuthenticatedHttpRequest, environment_id: uuid.UUID
) -> HttpResponse:
    environment = selectors.get_environment_for_user(
        user=request.user, environment_id=environment_id
    )
    initial = {
        "name": environment.name,
        "variables": "\n".join(f"{n}={v}" for n, v in environment.variables),
    }
    form = EnvironmentForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            return _save_environment(request, environment.team, form, environment)
        context = {"environment": environment, "form": form}
        return render(request, "library/environment.html", context, status=400)
    return render(request, "library/environment.html", {"environment": environment, "form": form})


@login_required
@require_POST
def delete_environment(
    request: AuthenticatedHttpRequest, environment_id: uuid.UUID
) -> HttpResponse:
    environment = selectors.get_environment_for_user(
        user=request.user, environment_id=environment_id
    )
    name = environment.name
    environment.delete()
    messages.success(request, f"Environment “{name}” deleted.")
    return redirect("saved:environments")


@login_required
@require_POST
def delete_collection(request: AuthenticatedHttpRequest, collection_id: uuid.UUID) -> HttpResponse:
    """The collection and its saved requests; the runs made from them stay in the log."""
    collection = selectors.get_collection_for_user(user=request.user, collection_id=collection_id)
    name = collection.name
    collection.delete()
    messages.success(request, f"Collection “{name}” deleted; its runs stay in the log.")
    return redirect("saved:collections")
