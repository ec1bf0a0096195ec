"""The default mailer when no SMTP server is configured."""

from django.core.mail import EmailMessage
from django.core.mail.backends import console


class ConsoleEmailBackend(console.EmailBackend):
    """Django's console backend, printing the text as it reads rather than as MIME.

    Django's prints the encoded message, where quoted-printable breaks long lines with `=`:
    a password-reset link could not be copied from the terminal.
    """

    def write_message(self, message: EmailMessage) -> None:
        self.stream.write(
            f"From: {message.from_email}\n"
            f"To: {', '.join(message.to)}\n"
            f"Subject: {message.subject}\n\n"
            f"{message.body.rstrip()}\n"
            f"{'-' * 79}\n"
        )
