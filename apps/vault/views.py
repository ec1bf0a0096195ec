"""The team vault's pages: names, hosts and history only (a value is never shown back);
owners add, rotate, re-bind and delete; every member sees what there is to use."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.selectors import current_team, is_owner
from apps.vault import selectors, services
from apps.vault.forms import HostsForm, RotateForm, SecretForm
from dashboard.requests import AuthenticatedHttpRequest


@login_required
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("value")
def vault(request: AuthenticatedHttpRequest) -> HttpResponse:
    team = current_team(request)
    owner = team is not None and is_owner(user=request.user, team_id=team.pk)
    form = SecretForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        valid = form.is_valid()  # a bound form, checked, before an error is added to it
        if team is None or not owner:
            form.add_error(None, "Only the team's owners add secrets.")
            status = 403
        elif valid:
            data = form.cleaned_data
            try:
                secret = services.create_secret(
                    team=team, user=request.user, name=data["name"], value=data["value"],
                    hosts=data["hosts"], description=data["description"],
                )  # fmt: skip
            except services.VaultRefused as refusal:
                form.add_error("name", str(refusal))
            else:
                messages.success(request, f"Secret “{secret.name}” saved.")
                return redirect("vault:detail", secret_id=secret.pk)
        if status == 200:
            status = 400
    context = {
        "team": team,
        "owner": owner,
        "secrets": selectors.secrets_of(team=team) if team else [],
        "events": selectors.events_of(team=team, limit=20) if team else [],
        "form": form,
    }
    return render(request, "vault/vault.html", context, status=status)


def _detail(
    request: AuthenticatedHttpRequest,
    secret_id: uuid.UUID,
    *,
    rotate: RotateForm | None = None,
    hosts: HostsForm | None = None,
    status: int = 200,
) -> HttpResponse:
    secret = selectors.get_secret_for_user(user=request.user, secret_id=secret_id)
    context = {
        "secret": secret,
        "owner": is_owner(user=request.user, team_id=secret.team_id),
        "rotate_form": rotate or RotateForm(),
        "hosts_form": hosts or HostsForm(initial={"hosts": "\n".join(secret.hosts)}),
        "events": selectors.events_of(team=secret.team, secret=secret),
    }
    return render(request, "vault/detail.html", context, status=status)


@login_required
def detail(request: AuthenticatedHttpRequest, secret_id: uuid.UUID) -> HttpResponse:
    return _detail(request, secret_id)


@login_required
@require_POST
@sensitive_post_parameters("value")
def rotate(request: AuthenticatedHttpRequest, secret_id: uuid.UUID) -> HttpResponse:
    secret = selectors.get_secret_for_user(user=request.user, secret_id=secret_id)
    form = RotateForm(request.POST)
    if form.is_valid():
        try:
            services.rotate_secret(
                secret=secret, user=request.user, value=form.cleaned_data["value"]
            )
        except services.VaultRefused as refusal:
            form.add_error("value", str(refusal))
            return _detail(request, secret_id, rotate=form, status=403)
        messages.success(request, f"The value of “{secret.name}” was replaced.")
        return redirect("vault:detail", secret_id=secret.pk)
    return _detail(request, secret_id, rotate=form, status=400)


@login_required
@require_POST
def rebind(request: AuthenticatedHttpRequest, secret_id: uuid.UUID) -> HttpResponse:
    secret = selectors.get_secret_for_user(user=request.user, secret_id=secret_id)
    form = HostsForm(request.POST)
    if form.is_valid():
        try:
            services.rebind_secret(
                secret=secret, user=request.user, hosts=form.cleaned_data["hosts"]
            )
        except services.VaultRefused as refusal:
            form.add_error("hosts", str(refusal))
            return _detail(request, secret_id, hosts=form, status=403)
        messages.success(request, f"“{secret.name}” may be sent to {', '.join(secret.hosts)}.")
        return redirect("vault:detail", secret_id=secret.pk)
    return _detail(request, secret_id, hosts=form, status=400)


@login_required
@require_POST
def delete(request: AuthenticatedHttpRequest, secret_id: uuid.UUID) -> HttpResponse:
    secret = selectors.get_secret_for_user(user=request.user, secret_id=secret_id)
    try:
        services.delete_secret(secret=secret, user=request.user)
    except services.VaultRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("vault:detail", secret_id=secret.pk)
    messages.success(request, f"Secret “{secret.name}” deleted.")
    return redirect("vault:vault")
