"""Email settings from the environment: console by default, SMTP from EMAIL_URL or
EMAIL_HOST, loud failures on values that cannot be right."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from dashboard.settings import mailers_from_env

CONSOLE = {"default": {"BACKEND": "apps.accounts.mail.ConsoleEmailBackend"}}


def smtp_options(env: dict[str, str]) -> dict[str, object]:
    mailer = mailers_from_env(env)["default"]
    assert mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    return mailer["OPTIONS"]  # type: ignore[return-value]


def test_it_prints_emails_on_the_console_when_nothing_is_set() -> None:
    assert mailers_from_env({}) == CONSOLE
    assert mailers_from_env({"EMAIL_URL": " ", "EMAIL_HOST": ""}) == CONSOLE


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp+tls://me%40example.com:p%40ss%3Aword@mail.example.com",
            ("mail.example.com", 587, "me@example.com", "p@ss:word", True, False),
        ),
        ("smtps://u:p@mail.example.com", ("mail.example.com", 465, "u", "p", False, True)),
        ("smtp://relay.internal:2525", ("relay.internal", 2525, "", "", False, False)),
        ("smtp://relay.internal", ("relay.internal", 25, "", "", False, False)),
    ],
)
def test_it_reads_email_url(url: str, expected: tuple[object, ...]) -> None:
    options = smtp_options({"EMAIL_URL": url})
    keys = ("host", "port", "username", "password", "use_tls", "use_ssl")
    assert tuple(options[key] for key in keys) == expected
    assert options["timeout"] == 10.0


def test_it_reads_the_separate_variables_with_starttls_by_default() -> None:
    options = smtp_options(
        {
            "EMAIL_HOST": "mail.example.com",
            "EMAIL_HOST_USER": "me",
            "EMAIL_HOST_PASSWORD": "secret",
            "EMAIL_TIMEOUT": "3.5",
        }
    )
    assert options == {
        "host": "mail.example.com",
        "port": 587,
        "username": "me",
        "password": "secret",
        "use_tls": True,
        "use_ssl": False,
        "timeout": 3.5,
    }


def test_it_uses_port_465_without_starttls_for_ssl() -> None:
    options = smtp_options({"EMAIL_HOST": "mail.example.com", "EMAIL_USE_SSL": "1"})
    assert (options["port"], options["use_tls"], options["use_ssl"]) == (465, False, True)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EMAIL_URL": "smtp://a", "EMAIL_HOST": "b"}, "not both"),
        ({"EMAIL_URL": "https://user:hunter2@mail.example.com"}, "must start with smtp://"),
        ({"EMAIL_URL": "mail.example.com"}, "must start with smtp://"),
        ({"EMAIL_URL": "smtp://mail.example.com:abc"}, "port that is not a number"),
        ({"EMAIL_URL": "smtp://mail.example.com:70000"}, "port that is not a number"),
        ({"EMAIL_URL": "smtp://:25"}, "must name a host"),
        ({"EMAIL_HOST": "m", "EMAIL_PORT": "twenty-five"}, "EMAIL_PORT must be a port"),
        ({"EMAIL_HOST": "m", "EMAIL_PORT": "0"}, "EMAIL_PORT must be a port"),
        ({"EMAIL_HOST": "m", "EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "cannot both be on"),
        ({"EMAIL_HOST": "m", "EMAIL_USE_TLS": "maybe"}, "EMAIL_USE_TLS must be one of"),
        ({"EMAIL_HOST": "m", "EMAIL_TIMEOUT": "soon"}, "EMAIL_TIMEOUT must be a number"),
    ],
)
def test_it_fails_loudly_on_bad_values(env: dict[str, str], message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message) as raised:
        mailers_from_env(env)
    assert "hunter2" not in str(raised.value)  # a password in EMAIL_URL is never echoed
