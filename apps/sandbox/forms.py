from django import forms


class MaintenanceForm(forms.Form):
    state = forms.ChoiceField(
        choices=[("on", "On: market-data endpoints answer 503"), ("off", "Off")],
        label="Maintenance",
    )
