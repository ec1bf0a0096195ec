"""apidiag: the API diagnostics dashboard from a terminal or a CI job. It speaks only the
dashboard's JSON API (/api/v1/)."""

__version__ = "0.1.0"
