"""The default mailer (apps.accounts.mail): emails printed on the console as they read."""

import io

from django.core.mail import EmailMessage

from apps.accounts.mail import ConsoleEmailBackend


def test_it_prints_console_emails_readably_so_links_can_be_copied() -> None:
    stream = io.StringIO()
    backend = ConsoleEmailBackend(alias="default", stream=stream)
    link = "http://127.0.0.1:8000/accounts/password/reset/NQ/" + "a1b2c3-" + "f" * 40 + "/"
    message = EmailMessage("Reset", f"Hello,\n\n{link}\n", "me@example.com", ["you@example.com"])
    assert backend.send_messages([message]) == 1
    printed = stream.getvalue()
    assert link in printed
    assert "Subject: Reset" in printed and "To: you@example.com" in printed
    assert "=\n" not in printed
