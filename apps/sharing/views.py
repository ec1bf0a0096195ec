"""Share links: created and revoked from a run's page, opened at `/s/<token>`.

Access: creating and revoking go through the run (`get_run_for_user`), so anyone outside
the run's team gets 404. Any member of the team may create a link and may revoke any link
of the team's runs: revoking only ever takes access away, and whoever notices a link in the
wrong place should be able to stop it at once.

The shared page answers the same 404 for unknown, malformed, expired and revoked tokens and
for team-only links opened by a signed-in outsider; a team-only link opened without signing
in asks to sign in. It is limited per client address, never cached, not indexed and sends
no Referer onward.
"""

import logging
import uuid

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe
from django_ratelimit.decorators import ratelimit

from apps.runs import secrets
from apps.runs import selectors as run_selectors
from apps.sharing import selectors, services
from apps.sharing.forms import ShareLinkForm
from apps.sharing.models import ShareLink
from apps.sharing.panel import SharePanel, share_panel
from apps.sharing.presentation import shared_run
from dashboard.requests import AuthenticatedHttpRequest, HtmxHttpRequest

logger = logging.getLogger(__name__)

TOO_MANY_VIEWS = "Too many shared pages opened from your address in a short time: wait a minute."


def _share_view_limit(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_SHARE_VIEW


def _panel_response(request: HtmxHttpRequest, panel: SharePanel, status: int = 200) -> HttpResponse:
    """The panel alone for htmx (swapped into the run page), else a page of its own."""
    if request.htmx:
        return render(request, "sharing/_share_panel.html", {"share": panel, "run": panel.run})
    return render(request, "sharing/share.html", {"share": panel, "run": panel.run}, status=status)


@never_cache
@login_required
@require_POST
def create_link(request: AuthenticatedHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    run = run_selectors.get_run_for_user(user=request.user, run_id=run_id)
    form = ShareLinkForm(request.POST)
    if not form.is_valid():
        return _panel_response(request, share_panel(run=run, form=form), status=400)
    link, token = services.create_link(
        run=run,
        created_by=request.user,
        visibility=form.cleaned_data["visibility"],
        lifetime=form.lifetime_delta(),
    )
    # Shown in this response only: the token is not stored, so the answer is not cached
    # and is not a redirect target that could be reloaded.
    url = request.build_absolute_uri(reverse("sharing:shared", args=[token]))
    return _panel_response(request, share_panel(run=run, created=link, created_url=url))


@login_required
@require_POST
def revoke_link(
    request: AuthenticatedHttpRequest, run_id: uuid.UUID, link_id: uuid.UUID
) -> HttpResponse:
    run = run_selectors.get_run_for_user(user=request.user, run_id=run_id)
    link = selectors.get_link_of_run(run=run, link_id=link_id)
    services.revoke_link(link=link)
    if request.htmx:
        return _panel_response(request, share_panel(run=run))
    messages.success(request, "Share link revoked: it no longer opens the run.")
    return redirect("runs:detail", run_id=run.id)


def _private(response: HttpResponse) -> HttpResponse:
    """A shared page (or its refusal): not stored, not indexed, no Referer sent onward."""
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    add_never_cache_headers(response)
    return response


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "sharing/not_found.html", status=404)


@require_safe
@ratelimit(key="ip", rate=_share_view_limit, group="share-view", block=False)
def shared(request: HttpRequest, token: str) -> HttpResponse:
    """The read-only, redacted page of a shared run."""
    if getattr(request, "limited", False):
        return _private(
            render(request, "accounts/too_many.html", {"message": TOO_MANY_VIEWS}, status=429)
        )
    try:
        link = selectors.get_viewable_link(token=token, user=request.user)
    except selectors.SignInRequired:
        return _private(redirect_to_login(request.get_full_path()))
    except Http404:
        return _private(_not_found(request))
    return _private(_shared_page(request, link))


def _shared_page(request: HttpRequest, link: ShareLink) -> HttpResponse:
    run = link.run
    try:
        # In memory for this response only: to find the values wherever they were echoed.
        secret_values = secrets.decrypt(run.secrets_encrypted).values()
    except InvalidToken:
        # Without the values the page cannot be checked for them: it is not shown.
        logger.error("share link %s: the run's secrets cannot be decrypted; not shown", link.id)
        return _not_found(request)
    view = shared_run(
        run=run,
        attempts=run_selectors.attempts_of(run=run),
        secret_values=secret_values,
        now=timezone.now(),
    )
    services.record_view(link=link)
    return render(request, "sharing/shared_run.html", {"link": link, "run": run, "shared": view})
