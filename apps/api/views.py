"""The Tokens page: make a personal API token (shown once), list yours, revoke one.

Each user sees and revokes their own tokens; a team's owner also sees (never the value, only
its first characters) and revokes its other members' tokens. Any other token id answers 404.
"""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from apps.accounts.selectors import current_team, memberships_of_request
from apps.api import selectors, services
from apps.api.api import Problematic, problem_response
from apps.api.forms import TokenForm
from dashboard.requests import AuthenticatedHttpRequest


@never_cache
@login_required
@sensitive_variables("value")
def tokens(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The list and the form; a valid POST makes a token and shows it in this answer only
    (not a redirect that could be reloaded, and never cached)."""
    memberships = memberships_of_request(request)
    team = current_team(request)
    created = None
    value = ""
    if request.method == "POST":
        form = TokenForm(request.POST, memberships=memberships)
        if form.is_valid():
            created, value = services.create_token(
                user=request.user,
                team=form.chosen_membership().team,
                name=form.cleaned_data["name"],
                lifetime=form.lifetime_delta(),
            )
            form = TokenForm(memberships=memberships, initial={"team": str(created.team_id)})
    else:
        form = TokenForm(memberships=memberships, initial={"team": str(team.id) if team else None})
    now = timezone.now()
    listed = [(token, token.state(now)) for token in selectors.tokens_of_user(user=request.user)]
    teammates = [
        (token, token.state(now))
        for token in selectors.teammates_tokens_for_owner(user=request.user)
    ]
    return render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "tokens": listed,
            "teammates_tokens": teammates,
            "created": created,
            "created_value": value,
            "api_base": request.build_absolute_uri("/").rstrip("/"),
            "has_team": bool(memberships),
        },
        status=400 if request.method == "POST" and created is None else 200,
    )


@login_required
@require_POST
def revoke(request: AuthenticatedHttpRequest, token_id: uuid.UUID) -> HttpResponse:
    token = selectors.get_token_for_user(user=request.user, token_id=token_id)
    if services.revoke_token(token=token, by=request.user):
        owner = "" if token.user_id == request.user.pk else f" of {token.user.get_username()}"
        messages.success(request, f"Token “{token.name}”{owner} revoked: it no longer works.")
    return redirect("api_tokens:list")


def api_not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    """Any other address under /api/: a problem in JSON, like every API answer, not a page."""
    return problem_response(
        Problematic(
            404,
            "The API has nothing at this address. Its operations are listed in "
            "/api/v1/openapi.json and at /api/v1/docs.",
        )
    )
