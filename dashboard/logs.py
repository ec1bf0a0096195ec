"""Logging filters: what a log line must never carry.

Share links, invite links and password reset links are bearer tokens in the URL path.
Django logs the path of a 404 or a 429 ("Not Found: /s/…"), so every log line has those
tokens replaced before it is written.
"""

import logging
import re

TOKEN_PATHS = re.compile(
    r"(?P<prefix>/s/|/invites/|/accounts/password/reset/[^/\s\"']+/)(?P<token>[^/\s\"'?#]+)"
)
REPLACEMENT = r"\g<prefix>[token]"


def redact_token_paths(text: str) -> str:
    return TOKEN_PATHS.sub(REPLACEMENT, text)


class RedactTokenPaths(logging.Filter):
    """Rewrite a record's message with the tokens of link paths replaced; never drops it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_token_paths(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
