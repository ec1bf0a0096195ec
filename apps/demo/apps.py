from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo seeding and synthetic runs for benchmarks: tooling, not product. No models."""

    name = "apps.demo"
    label = "demo"
