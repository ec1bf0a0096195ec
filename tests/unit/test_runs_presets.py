"""The ready-made requests of the submit form (apps.runs.presets)."""

from typing import Any

import pytest
from django.conf import settings

from apps.runs.presets import (
    ACCEPT_JSON,
    PRESETS,
    PRESETS_BY_SLUG,
    Preset,
    available_presets,
    get_preset,
    preset_groups,
    tls_sandbox_origin,
)
from apps.sandbox.certificates import CASES, CASES_BY_NAME


@pytest.mark.parametrize(
    ("base", "host"),
    [
        ("http://127.0.0.1:8000/sandbox", "127.0.0.1"),
        ("http://localhost:8000/sandbox", "localhost"),
        ("http://dashboard.example/sandbox", "localhost"),
        ("http://[::1]:8000/sandbox", "localhost"),
    ],
)
def test_the_tls_presets_point_at_their_port(base: str, host: str) -> None:
    for case in CASES:
        preset = PRESETS_BY_SLUG[f"sandbox-tls-{case.name}"]
        port = settings.SANDBOX_TLS_PORTS[case.name]
        assert preset.initial(base)["url"] == f"https://{host}:{port}/"
    assert CASES_BY_NAME["expired"].outcome == "network.tls.certificate_expired"


# --- what a preset fills in ---------------------------------------------------------------


def test_a_sandbox_preset_puts_its_path_below_the_sandbox() -> None:
    preset = Preset("x", "X", "Sandbox", "/v2/ping", params="a=1")
    assert preset.initial("http://h/sandbox") == {
        "method": "GET",
        "url": "http://h/sandbox/v2/ping",
        "params": "a=1",
        "headers": ACCEPT_JSON,
        "api_key": "",
        "follow_redirects": False,
    }


def test_a_real_host_preset_keeps_its_whole_url() -> None:
    preset = Preset("x", "X", "Kaiko", "https://us.market-api.kaiko.io/v2/x", sandbox=False)
    assert preset.initial("http://h/sandbox")["url"] == "https://us.market-api.kaiko.io/v2/x"


def test_a_timeout_is_filled_in_only_when_the_preset_has_one() -> None:
    assert "timeout" not in Preset("x", "X", "G", "/p").initial("http://h/sandbox")
    assert Preset("x", "X", "G", "/p", timeout=2.5).initial("http://h/sandbox")["timeout"] == 2.5


@pytest.mark.parametrize(
    ("base", "host"),
    [
        ("http://127.0.0.1:8000/sandbox", "127.0.0.1"),
        ("http://localhost/sandbox", "localhost"),
        ("http://dashboard.example/sandbox", "localhost"),
        ("not a url", "localhost"),
    ],
)
def test_the_tls_origin_is_on_a_host_the_certificates_name(base: str, host: str) -> None:
    port = settings.SANDBOX_TLS_PORTS["good"]
    assert tls_sandbox_origin(base, "good") == f"https://{host}:{port}"


def test_every_slug_is_unique() -> None:
    assert len(PRESETS_BY_SLUG) == len(PRESETS)


# --- which presets this server offers -----------------------------------------------------


def test_without_the_sandbox_only_real_host_presets_are_offered(settings: Any) -> None:
    settings.SANDBOX_ENABLED = False
    offered = available_presets()
    assert offered
    assert all(not preset.sandbox and not preset.tls for preset in offered)
    sandbox_only = next(preset for preset in PRESETS if preset.sandbox)
    assert get_preset(sandbox_only.slug) is None


def test_with_the_sandbox_every_preset_is_offered(settings: Any) -> None:
    settings.SANDBOX_ENABLED = True
    assert available_presets() == PRESETS
    assert get_preset(PRESETS[0].slug) is PRESETS[0]
    assert get_preset("no-such-preset") is None


def test_the_groups_keep_every_offered_preset_in_order(settings: Any) -> None:
    settings.SANDBOX_ENABLED = True
    groups = preset_groups()
    assert [preset for group in groups.values() for preset in group] == sorted(
        PRESETS, key=lambda preset: list(groups).index(preset.group)
    )
    for name, members in groups.items():
        assert all(preset.group == name for preset in members)
