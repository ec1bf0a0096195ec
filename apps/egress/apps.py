from django.apps import AppConfig


class EgressConfig(AppConfig):
    """The only code that sends outbound HTTP. It has no models."""

    name = "apps.egress"
    label = "egress"
