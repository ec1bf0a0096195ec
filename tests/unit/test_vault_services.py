"""The vault's pure checks: host patterns, names, values."""

import pytest

from apps.vault.services import VaultRefused, check_hosts, check_name, host_allowed


@pytest.mark.parametrize(
    ("host", "patterns", "allowed"),
    [
        ("us.market-api.kaiko.io", ["*.market-api.kaiko.io"], True),
        ("a.b.market-api.kaiko.io", ["*.market-api.kaiko.io"], True),
        ("market-api.kaiko.io", ["*.market-api.kaiko.io"], False),
        ("evil-market-api.kaiko.io", ["*.market-api.kaiko.io"], False),
        ("market-api.kaiko.io.evil.com", ["*.market-api.kaiko.io"], False),
        ("API.Example.com", ["api.example.com"], True),
        ("api.example.com.", ["api.example.com"], True),
        ("127.0.0.1", ["127.0.0.1"], True),
        ("127.0.0.2", ["127.0.0.1"], False),
        ("", ["api.example.com"], False),
    ],
)
def test_host_patterns(host: str, patterns: list[str], allowed: bool) -> None:
    assert host_allowed(host, patterns) is allowed


def test_hosts_are_read_one_per_line_or_comma_separated() -> None:
    assert check_hosts("*.Example.com\n api.other.io, api.other.io") == [
        "*.example.com",
        "api.other.io",
    ]


@pytest.mark.parametrize("text", ["https://api.example.com", "api.example.com/v1", "*", "", "a b*"])
def test_bad_host_patterns_are_refused(text: str) -> None:
    with pytest.raises(VaultRefused):
        check_hosts(text)


@pytest.mark.parametrize("name", ["9lives", "has space", "x" * 101, "", "a{b}"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(VaultRefused):
        check_name(name)
