"""gunicorn reads this file when started from the project's root (`gunicorn dashboard.wsgi`).

The access log (off unless --access-logfile is given) goes through a logger that removes
link tokens, secret query values and credential headers before a line is written.
"""

logger_class = "dashboard.gunicorn_logging.RedactingLogger"
