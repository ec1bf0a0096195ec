"""The forms of monitors and alert channels; every bad value answered at its field."""

from typing import Any

from django import forms
from django.core.validators import validate_email

from apps.accounts.models import Team
from apps.library.models import Environment
from apps.monitors import assertions, schedules, services
from apps.monitors.models import AlertChannel

INTERVAL_CHOICES = [
    (30, "Every 30 seconds"),
    (60, "Every minute"),
    (300, "Every 5 minutes"),
    (900, "Every 15 minutes"),
    (3600, "Every hour"),
    (6 * 3600, "Every 6 hours"),
    (24 * 3600, "Every 24 hours"),
]


class MonitorForm(forms.Form):
    name = forms.CharField(max_length=100)
    interval_seconds = forms.TypedChoiceField(
        label="Check", choices=INTERVAL_CHOICES, coerce=int, initial=300
    )
    cron = forms.CharField(
        label="Or on a cron schedule (UTC)",
        required=False,
        max_length=100,
        help_text="Five fields, e.g. */5 * * * 1-5; when given, it replaces the interval.",
    )
    assertions = forms.CharField(
        label="Assertions",
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        help_text=(
            "One per line: status in 200-299 · json $.result == success · "
            "header Content-Type ~ json · time total < 800 · time wait < 500 · "
            "body contains text · body not contains error · cert days > 14"
        ),
    )
    failures_to_down = forms.IntegerField(
        label="Failures in a row before down", min_value=1, max_value=10, initial=2,
        help_text="A single failed check below this only marks the monitor degraded: no alert.",
    )  # fmt: skip
    successes_to_up = forms.IntegerField(
        label="Successes in a row before up again", min_value=1, max_value=10, initial=1
    )
    reminder_minutes = forms.IntegerField(
        label="Remind while down every (minutes, 0 for never)", min_value=0, max_value=10080,
        initial=0,
    )  # fmt: skip
    public = forms.BooleanField(
        label="Show on the team's public status page (name, state and uptime only)",
        required=False,
    )
    channels = forms.ModelMultipleChoiceField(
        label="Alert channels",
        queryset=AlertChannel.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channels"].queryset = AlertChannel.objects.for_team(team).order_by("name")  # type: ignore[attr-defined]

    def monitor_settings(self) -> dict[str, Any]:
        """The monitor's settings as services.create_monitor and update_monitor take them
        (once valid)."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "interval_seconds": data["interval_seconds"],
            "assertion_list": data["assertions"],
            "failures_to_down": data["failures_to_down"],
            "successes_to_up": data["successes_to_up"],
            "reminder_minutes": data["reminder_minutes"],
            "channels": list(data["channels"]),
            "public": data["public"],
            "cron": data["cron"],
        }

    def clean_cron(self) -> str:
        text = self.cleaned_data["cron"].strip()
        if not text:
            return ""
        try:
            return schedules.check_cron(text)
        except schedules.CronRefused as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_assertions(self) -> list[dict[str, Any]]:
        try:
            parsed = assertions.parse_lines(self.cleaned_data["assertions"])
        except assertions.AssertionSyntaxError as exc:
            raise forms.ValidationError(str(exc)) from None
        if not parsed:
            raise forms.ValidationError("Write at least one assertion, e.g. status in 200-299.")
        return parsed


class SavedMonitorForm(MonitorForm):
    """A monitor of a saved request: the form above and the environment it is sent with."""

    environment = forms.ModelChoiceField(
        label="Environment",
        queryset=Environment.objects.none(),
        required=False,
        empty_label="None (the collection's variables)",
        help_text="Its {{variables}} and vault secrets are read at each check: editing the "
        "environment or the saved request changes what the next check sends.",
    )
    field_order = ["name", "environment"]

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, team=team, **kwargs)
        self.fields["environment"].queryset = Environment.objects.for_team(team).order_by("name")  # type: ignore[attr-defined]


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(label="Kind", choices=AlertChannel.Kind.choices)
    target = forms.CharField(
        label="Webhook URL or email addresses",
        max_length=2000,
        help_text="A webhook URL (https://…), or email addresses separated by commas.",
    )
    incident_alerts = forms.BooleanField(
        label="Also alert when an incident opens across the team", required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, target = data.get("kind"), (data.get("target") or "").strip()
        if not kind or not target:
            return data
        if kind == AlertChannel.Kind.EMAIL:
            addresses = [a.strip() for a in target.split(",") if a.strip()]
            for address in addresses:
                try:
                    validate_email(address)
                except forms.ValidationError:
                    self.add_error("target", f"“{address[:80]}” is not an email address.")
                    return data
            data["target"] = ", ".join(addresses)
        else:
            try:
                services.check_webhook_url(target)
            except services.ChannelRefused as exc:
                self.add_error("target", str(exc))
                return data
            data["target"] = target
        return data
