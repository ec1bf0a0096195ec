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


# Celery's own INFO lines about tasks beat sends every few seconds: "Sending due task"
# (beat), "received" and "succeeded" (worker). Routine: written at DEBUG instead. Each task
# logs at INFO itself when it did something (the sweeper, the monitors' tick and purge).
ROUTINE_TASKS = ("monitors.tick", "monitors.purge", "runs.sweep")


class QuietRoutineTasks(logging.Filter):
    """On Celery's loggers: an INFO line about a routine task is turned into a DEBUG one,
    kept only when that logger writes DEBUG; every other line is left as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        message = record.getMessage()
        if not any(task in message for task in ROUTINE_TASKS):
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return True
