from typing import Any

from django import forms

from apps.vault.services import VaultRefused, check_hosts, check_name, check_value

_VALUE_WIDGET = forms.PasswordInput(
    render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false"}
)
HOSTS_HELP = (
    "Where it may be sent, one per line: a host (api.example.com) or *. and a domain "
    "(*.market-api.kaiko.io, its sub-domains). A request to any other host is refused."
)


def _checked(check: Any, value: Any) -> Any:
    try:
        return check(value)
    except VaultRefused as refusal:
        raise forms.ValidationError(str(refusal)) from None


class SecretForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="Used in requests as {{vault:NAME}}, e.g. in the API key field.",
    )
    value = forms.CharField(
        max_length=4000, strip=False, widget=_VALUE_WIDGET,
        help_text="Stored encrypted; never shown again, to anyone.",
    )  # fmt: skip
    hosts = forms.CharField(
        label="Hosts", help_text=HOSTS_HELP, widget=forms.Textarea(attrs={"rows": 2})
    )
    description = forms.CharField(max_length=300, required=False)

    def clean_name(self) -> str:
        return _checked(check_name, self.cleaned_data["name"])

    def clean_value(self) -> str:
        return _checked(check_value, self.cleaned_data["value"])

    def clean_hosts(self) -> list[str]:
        return _checked(check_hosts, self.cleaned_data["hosts"])


class RotateForm(forms.Form):
    value = forms.CharField(
        label="New value", max_length=4000, strip=False, widget=_VALUE_WIDGET,
        help_text="Replaces the value; the name stays, so requests that use it keep working.",
    )  # fmt: skip

    def clean_value(self) -> str:
        return _checked(check_value, self.cleaned_data["value"])


class HostsForm(forms.Form):
    hosts = forms.CharField(
        label="Hosts", help_text=HOSTS_HELP, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean_hosts(self) -> list[str]:
        return _checked(check_hosts, self.cleaned_data["hosts"])
