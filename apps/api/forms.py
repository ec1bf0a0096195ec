from datetime import timedelta
from typing import Any, cast

from django import forms

from apps.accounts.models import Membership

# How long a new token works.
LIFETIMES: dict[str, tuple[str, timedelta]] = {
    "7d": ("7 days", timedelta(days=7)),
    "30d": ("30 days", timedelta(days=30)),
    "90d": ("90 days", timedelta(days=90)),
    "365d": ("1 year", timedelta(days=365)),
}
DEFAULT_LIFETIME = "90d"


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What it is for, e.g. “CI of the billing service”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    team = forms.ChoiceField(help_text="The token sees this team's runs only.")
    lifetime = forms.ChoiceField(
        label="Works for",
        choices=[(key, label) for key, (label, _) in LIFETIMES.items()],
        initial=DEFAULT_LIFETIME,
    )

    def __init__(self, *args: Any, memberships: list[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.memberships = {str(m.team_id): m for m in memberships}
        cast(forms.ChoiceField, self.fields["team"]).choices = [
            (str(m.team_id), m.team.name) for m in memberships
        ]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the token a name.")
        return name

    def chosen_membership(self) -> Membership:
        return self.memberships[self.cleaned_data["team"]]

    def lifetime_delta(self) -> timedelta:
        return LIFETIMES[self.cleaned_data["lifetime"]][1]
