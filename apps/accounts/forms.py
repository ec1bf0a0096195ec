from datetime import timedelta

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User

from apps.accounts.models import Membership

# How long a new invite link stays usable; the default is a week.
INVITE_LIFETIMES: dict[str, tuple[str, timedelta]] = {
    "1": ("1 day", timedelta(days=1)),
    "7": ("7 days", timedelta(days=7)),
    "30": ("30 days", timedelta(days=30)),
}
DEFAULT_INVITE_LIFETIME = "7"


class TeamForm(forms.Form):
    name = forms.CharField(
        label="Team name",
        max_length=100,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class InviteForm(forms.Form):
    lifetime = forms.ChoiceField(
        label="Link valid for",
        choices=[(key, label) for key, (label, _) in INVITE_LIFETIMES.items()],
        initial=DEFAULT_INVITE_LIFETIME,
    )

    def lifetime_delta(self) -> timedelta:
        return INVITE_LIFETIMES[self.cleaned_data["lifetime"]][1]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class TeamSettingsForm(forms.Form):
    send_traceparent = forms.BooleanField(
        label="Send a W3C traceparent by default",
        required=False,
        help_text="New requests start with “Send a W3C traceparent” ticked (each request can "
        "still choose); the API sends one when a run does not say.",
    )


class SignUpForm(UserCreationForm[User]):
    """A new account and the name of its own first team (open sign-up, SIGNUP_OPEN)."""

    team_name = forms.CharField(
        label="Your team's name",
        max_length=100,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
