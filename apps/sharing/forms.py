from datetime import timedelta

from django import forms

from apps.sharing.models import ShareLink

NEVER = "never"
# How long a new share link works; "never" is for team-only links.
LIFETIMES: dict[str, tuple[str, timedelta | None]] = {
    "1h": ("1 hour", timedelta(hours=1)),
    "1d": ("1 day", timedelta(days=1)),
    "7d": ("7 days", timedelta(days=7)),
    "30d": ("30 days", timedelta(days=30)),
    NEVER: ("Never (team members only)", None),
}
DEFAULT_LIFETIME = "7d"
NEVER_ONLY_FOR_TEAM = (
    "A link anyone can open must expire: pick 30 days or less, or make it team members only."
)


class ShareLinkForm(forms.Form):
    visibility = forms.ChoiceField(
        label="Who can open it",
        choices=ShareLink.Visibility.choices,
        initial=ShareLink.Visibility.PUBLIC,
        widget=forms.RadioSelect,
    )
    lifetime = forms.ChoiceField(
        label="Link works for",
        choices=[(key, label) for key, (label, _) in LIFETIMES.items()],
        initial=DEFAULT_LIFETIME,
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if (
            cleaned.get("lifetime") == NEVER
            and cleaned.get("visibility") != ShareLink.Visibility.TEAM
        ):
            self.add_error("lifetime", NEVER_ONLY_FOR_TEAM)
        return cleaned

    def lifetime_delta(self) -> timedelta | None:
        return LIFETIMES[self.cleaned_data["lifetime"]][1]
