"""Link tokens (share, invite, password reset) never reach a log line."""

import io
import logging
import secrets
from collections.abc import Iterator

import pytest
from django.test import Client

from dashboard.logs import RedactTokenPaths, redact_token_paths


@pytest.mark.parametrize(
    ("line", "written"),
    [
        ("Not Found: /s/abcDEF123_-xyz", "Not Found: /s/[token]"),
        ('"GET /s/abcDEF123?x=1 HTTP/1.1" 404', '"GET /s/[token]?x=1 HTTP/1.1" 404'),
        ("Not Found: /invites/tok-en_42/", "Not Found: /invites/[token]/"),
        (
            "Forbidden: /accounts/password/reset/MQ/c4k2-abc123/",
            "Forbidden: /accounts/password/reset/MQ/[token]/",
        ),
        ("GET /runs/3f0c/ 200", "GET /runs/3f0c/ 200"),
        ("/sandbox/us/v2/data", "/sandbox/us/v2/data"),
    ],
)
def test_it_replaces_tokens_in_link_paths(line: str, written: str) -> None:
    assert redact_token_paths(line) == written


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the configured console handler writes, for the length of a test."""
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, RedactTokenPaths) for f in handler.filters)
    ]
    assert handlers, "the console handler has no token filter"
    stream = io.StringIO()
    previous = [handler.setStream(stream) for handler in handlers]  # type: ignore[attr-defined]
    yield stream
    for handler, old in zip(handlers, previous, strict=True):
        handler.setStream(old)  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_an_unknown_share_token_is_logged_without_the_token(console: io.StringIO) -> None:
    token = secrets.token_urlsafe(32)
    response = Client().get(f"/s/{token}")
    assert response.status_code == 404
    written = console.getvalue()
    assert "/s/[token]" in written
    assert token not in written


@pytest.mark.django_db
def test_an_unknown_invite_token_is_logged_without_the_token(
    console: io.StringIO, owner_client: Client
) -> None:
    token = secrets.token_urlsafe(32)
    response = owner_client.get(f"/invites/{token}/")
    assert response.status_code == 404
    written = console.getvalue()
    assert "/invites/[token]/" in written
    assert token not in written


def _handlers_reached(name: str) -> list[logging.Handler]:
    """Every handler a record logged on `name` reaches (its logger and its parents'),
    but pytest's own capturing ones."""
    found: list[logging.Handler] = []
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None:
        found += [h for h in logger.handlers if not type(h).__module__.startswith("_pytest")]
        logger = logger.parent if logger.propagate else None
    return found


@pytest.mark.parametrize("name", ["django.request", "django.security.csrf", "django", "apps"])
def test_every_handler_of_djangos_loggers_filters_tokens(name: str) -> None:
    """Issue 13, row 9: with DEBUG on, Django's own console handler wrote the token."""
    handlers = _handlers_reached(name)
    assert handlers
    for handler in handlers:
        assert any(isinstance(f, RedactTokenPaths) for f in handler.filters), handler


@pytest.mark.django_db
def test_no_handler_writes_a_share_token_with_debug_on(settings: object) -> None:
    settings.DEBUG = True  # type: ignore[attr-defined]
    token = secrets.token_urlsafe(32)
    streams = []
    for handler in _handlers_reached("django.request"):
        if isinstance(handler, logging.StreamHandler):
            stream = io.StringIO()
            streams.append((handler, handler.setStream(stream), stream))
    try:
        assert Client().get(f"/s/{token}").status_code == 404
    finally:
        for handler, old, _ in streams:
            handler.setStream(old)
    written = "".join(stream.getvalue() for _, _, stream in streams)
    assert "/s/[token]" in written
    assert token not in written
