"""Teams, memberships, invite links, open sign-up (when SIGNUP_OPEN), the team switcher, and
the password reset hardening.

Access: every URL that names a team answers 404 to anyone who is not a member of it, as if
the team did not exist. A member who is not an owner and tries an owner's action gets 403:
they can see the team and its members already, so hiding it would tell them nothing, and
the page says who can do it. Invite links answer the same 404 whether the token is unknown,
expired, used or revoked.
"""

import functools
import uuid
from collections.abc import Callable

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm, UserCreationForm
from django.contrib.auth.models import User
from django.db import IntegrityError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from apps.accounts import selectors, services
from apps.accounts.forms import InviteForm, RoleForm, SignUpForm, TeamForm, TeamSettingsForm
from apps.accounts.models import Invite, Membership
from dashboard.requests import AuthenticatedHttpRequest

TOO_MANY_INVITES = "Too many invite links opened in a short time: wait a minute, then try again."
TOO_MANY_RESETS = "Too many password reset requests from your address: try again later."
USERNAME_TAKEN = "A user with that username already exists."
TOO_MANY_SIGNUPS = "Too many accounts asked for from your address in a short time: try again later."


# Who signs up with an invite is signed in with the model backend (they just chose a password).
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _invite_limit(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_INVITE


def _password_reset_limit(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_PASSWORD_RESET


def _signup_limit(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_SIGNUP


def _get_membership(request: HttpRequest, team_id: uuid.UUID) -> Membership:
    """The signed-in user's membership of the team; 404 for everyone else."""
    return selectors.get_membership_for_user(user=request.user, team_id=team_id)


def _owners_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """An owner's action on the team of the URL's `team_id`: the view is given the owner's
    membership instead; a member who is not an owner gets the 403 page that says who can do
    it, anyone else the 404 of `_get_membership`."""

    @functools.wraps(view)
    def check(request: HttpRequest, team_id: uuid.UUID, **ids: object) -> HttpResponse:
        membership = _get_membership(request, team_id)
        if not membership.is_owner:
            context = {"team": membership.team}
            return render(request, "accounts/owners_only.html", context, status=403)
        return view(request, membership, **ids)

    return check


def _first_error(form: Form) -> str:
    for errors in form.errors.values():
        return str(errors[0])
    return "The form is not valid."


@login_required
def teams(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _teams_page(request, TeamForm())


def _teams_page(request: HttpRequest, form: TeamForm) -> HttpResponse:
    current = selectors.current_membership(request)
    return render(
        request,
        "accounts/teams.html",
        {
            "memberships": selectors.memberships_of_request(request),
            "current_membership": current,
            "form": form,
            "switch_next": reverse("accounts:teams"),
        },
    )


@login_required
@require_POST
def create_team(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = TeamForm(request.POST)
    if not form.is_valid():
        return _teams_page(request, form)
    membership = services.create_team(name=form.cleaned_data["name"], owner=request.user)
    services.set_current_team(request=request, membership=membership)
    messages.success(request, f"Team “{membership.team.name}” created. You are its owner.")
    return redirect("accounts:team", team_id=membership.team_id)


@login_required
@require_POST
def switch_team(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        team_id = uuid.UUID(request.POST.get("team", ""))
    except ValueError:
        raise Http404("No such team") from None
    membership = _get_membership(request, team_id)
    services.set_current_team(request=request, membership=membership)
    return HttpResponseRedirect(_next_path(request, request.POST.get("next", "")))


def _next_path(request: HttpRequest, target: str) -> str:
    """`target` if it is a path on this site, else the home page. Never looked up as a view
    name (`redirect("evil")` would be), never another host, never a control character."""
    if (
        not target.startswith("/")
        or any(ord(char) < 32 or ord(char) == 127 for char in target)
        or not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return reverse("home")
    return target


@login_required
def team_detail(request: AuthenticatedHttpRequest, team_id: uuid.UUID) -> HttpResponse:
    membership = _get_membership(request, team_id)
    team = membership.team
    members = list(selectors.members_of(team=team))
    owners = [member for member in members if member.is_owner]
    context: dict[str, object] = {
        "team": team,
        "membership": membership,
        "members": members,
        "sole_owner": owners == [membership],
    }
    if membership.is_owner:
        context["invites"] = selectors.pending_invites(team=team)
        context["invite_form"] = InviteForm()
        context["settings_form"] = TeamSettingsForm(
            initial={"send_traceparent": team.send_traceparent}
        )
    return render(request, "accounts/team_detail.html", context)


@login_required
@require_POST
@_owners_only
def change_settings(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    form = TeamSettingsForm(request.POST)
    form.is_valid()  # a box: ticked or not, nothing else to check
    services.change_settings(
        team=membership.team, send_traceparent=bool(form.cleaned_data.get("send_traceparent"))
    )
    messages.success(request, "The team's settings are saved.")
    return redirect("accounts:team", team_id=membership.team_id)


@never_cache
@login_required
@require_POST
@_owners_only
def create_invite(request: AuthenticatedHttpRequest, membership: Membership) -> HttpResponse:
    team_id = membership.team_id
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("accounts:team", team_id=team_id)
    invite, token = services.create_invite(
        team=membership.team, created_by=request.user, lifetime=form.lifetime_delta()
    )
    # Shown in this response only: the token is not stored, so the page is not cached and
    # is not a redirect target that could be reloaded.
    return render(
        request,
        "accounts/invite_created.html",
        {
            "team": membership.team,
            "invite": invite,
            "link": request.build_absolute_uri(reverse("accounts:join", args=[token])),
            "switch_next": reverse("accounts:team", args=[team_id]),
        },
    )


@login_required
@require_POST
@_owners_only
def revoke_invite(
    request: AuthenticatedHttpRequest, membership: Membership, invite_id: uuid.UUID
) -> HttpResponse:
    team_id = membership.team_id
    invite = selectors.get_pending_invite_of_team(team=membership.team, invite_id=invite_id)
    services.revoke_invite(invite=invite)
    messages.success(request, "Invite revoked: its link no longer works.")
    return redirect("accounts:team", team_id=team_id)


@login_required
@require_POST
@_owners_only
def remove_member(
    request: AuthenticatedHttpRequest, membership: Membership, membership_id: int
) -> HttpResponse:
    team_id = membership.team_id
    target = selectors.get_member_of_team(team=membership.team, membership_id=membership_id)
    try:
        services.remove_membership(membership=target)
    except services.TeamRuleBroken as broken:
        messages.error(request, str(broken))
        return redirect("accounts:team", team_id=team_id)
    if target.pk == membership.pk:
        messages.success(request, f"You left “{membership.team.name}”.")
        return redirect("accounts:teams")
    messages.success(request, f"{target.user.get_username()} was removed from the team.")
    return redirect("accounts:team", team_id=team_id)


@login_required
@require_POST
@_owners_only
def change_role(
    request: AuthenticatedHttpRequest, membership: Membership, membership_id: int
) -> HttpResponse:
    team_id = membership.team_id
    target = selectors.get_member_of_team(team=membership.team, membership_id=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("accounts:team", team_id=team_id)
    role = form.cleaned_data["role"]
    try:
        services.change_role(membership=target, role=role)
    except services.TeamRuleBroken as broken:
        messages.error(request, str(broken))
    else:
        label = Membership.Role(role).label.lower()
        messages.success(request, f"{target.user.get_username()} is now {label}.")
    return redirect("accounts:team", team_id=team_id)


@login_required
@require_POST
def leave_team(request: AuthenticatedHttpRequest, team_id: uuid.UUID) -> HttpResponse:
    membership = _get_membership(request, team_id)
    try:
        services.remove_membership(membership=membership)
    except services.TeamRuleBroken as broken:
        messages.error(request, str(broken))
        return redirect("accounts:team", team_id=team_id)
    messages.success(request, f"You left “{membership.team.name}”.")
    return redirect("accounts:teams")


@never_cache
@sensitive_post_parameters("password1", "password2")
@ratelimit(key="user_or_ip", rate=_invite_limit, group="invite", block=False)
def join_team(request: HttpRequest, token: str) -> HttpResponse:
    """An invite link: the team it is for and a Join button (POST). Someone without an
    account creates one here (the only way in unless SIGNUP_OPEN opens sign-up)."""
    if getattr(request, "limited", False):
        return render(request, "accounts/too_many.html", {"message": TOO_MANY_INVITES}, status=429)
    invite = selectors.get_usable_invite(token=token)
    if not request.user.is_authenticated:
        return _sign_up_with_invite(request, invite)
    user = request.user
    if request.method == "POST":
        membership, joined = services.accept_invite(invite=invite, user=user)
        services.set_current_team(request=request, membership=membership)
        if joined:
            messages.success(request, f"Welcome to “{invite.team.name}”.")
        else:
            messages.info(request, f"You are already a member of “{invite.team.name}”.")
        return redirect("accounts:team", team_id=invite.team_id)
    return render(
        request,
        "accounts/join.html",
        {
            "invite": invite,
            "already_member": selectors.is_member(user=user, team_id=invite.team_id),
        },
    )


def _sign_up_with_invite(request: HttpRequest, invite: Invite) -> HttpResponse:
    form: UserCreationForm[User] = UserCreationForm(
        request.POST if request.method == "POST" else None
    )
    if request.method == "POST" and form.is_valid():
        membership = services.sign_up_with_invite(
            invite=invite,
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password1"],
        )
        login(request, membership.user, backend=MODEL_BACKEND)
        services.set_current_team(request=request, membership=membership)
        messages.success(request, f"Welcome to “{invite.team.name}”.")
        return redirect("home")
    return render(request, "accounts/join.html", {"invite": invite, "signup_form": form})


@never_cache
@sensitive_post_parameters("password1", "password2")
@ratelimit(key="ip", rate=_signup_limit, method="POST", group="signup", block=False)
def sign_up(request: HttpRequest) -> HttpResponse:
    """Open sign-up (SIGNUP_OPEN): a new account and its own first team. With the setting
    off, as by default, there is no such page: an invite link is the only way in."""
    if not settings.SIGNUP_OPEN:
        raise Http404("No such page")
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if getattr(request, "limited", False):
            form.is_valid()  # bound, so the page can show what was typed
            form.add_error(None, TOO_MANY_SIGNUPS)
            return render(request, "registration/signup.html", {"form": form}, status=429)
        if form.is_valid():
            try:
                membership = services.sign_up(
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password1"],
                    team_name=form.cleaned_data["team_name"],
                )
            except IntegrityError:  # the same name taken in a parallel request
                form.add_error("username", USERNAME_TAKEN)
                return render(request, "registration/signup.html", {"form": form})
            login(request, membership.user, backend=MODEL_BACKEND)
            services.set_current_team(request=request, membership=membership)
            messages.success(request, f"Welcome. “{membership.team.name}” is your team.")
            return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


@method_decorator(
    ratelimit(
        key="ip", rate=_password_reset_limit, method="POST", group="password-reset", block=False
    ),
    name="dispatch",
)
class PasswordResetView(auth_views.PasswordResetView):
    """Django's, with a limit on how many reset emails one address can ask for."""

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        if getattr(self.request, "limited", False):
            form.add_error(None, TOO_MANY_RESETS)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's. A new password also lifts a sign-in lockout of the account (django-axes):
    the guesses it counted were against the old password."""

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        response = super().form_valid(form)
        axes_reset(username=form.user.get_username())
        return response
