"""gunicorn's access log never carries a link token, a secret query value or a credential."""

from datetime import timedelta
from types import SimpleNamespace

from gunicorn.config import Config

from dashboard.gunicorn_logging import RedactingLogger, redact_atoms


def test_it_takes_link_tokens_secret_query_values_and_credential_headers_out() -> None:
    atoms = redact_atoms(
        {
            "r": "GET /s/abcDEF123/?api_key=k3y-VALUE&page=2 HTTP/1.1",
            "U": "/s/abcDEF123/",
            "q": "api_key=k3y-VALUE&page=2",
            "f": "https://dash.example.com/invites/inv1t3/",
            "{authorization}i": "Bearer t0ken-VALUE",
            "{cookie}i": "sessionid=s3ss10n",
            "{user-agent}i": "curl/8.5.0",
            "{http_authorization}e": "Bearer t0ken-VALUE",
            "{http_referer}e": "https://dash.example.com/s/abcDEF123/",
            "s": "200",
            "B": 12,
        }
    )
    text = repr(atoms)
    for secret in ("abcDEF123", "k3y-VALUE", "inv1t3", "t0ken-VALUE", "s3ss10n"):
        assert secret not in text
    assert atoms["r"].startswith("GET /s/[token]/?") and atoms["r"].endswith(" HTTP/1.1")
    assert "page=2" in atoms["q"] and atoms["{user-agent}i"] == "curl/8.5.0"
    assert atoms["B"] == 12 and atoms["s"] == "200"


def test_the_logger_gunicorn_loads_from_the_project_config_redacts_its_access_lines() -> None:
    config = Config()
    config.set("logger_class", "dashboard.gunicorn_logging.RedactingLogger")
    assert config.logger_class is RedactingLogger
    logger = RedactingLogger(config)
    response = SimpleNamespace(status="404 Not Found", sent=10, headers=[])
    request = SimpleNamespace(headers=[("AUTHORIZATION", "Bearer t0ken-VALUE")])
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/s/abcDEF123/",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": "/s/abcDEF123/",
        "QUERY_STRING": "",
    }
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=3))
    assert atoms["r"] == "GET /s/[token]/ HTTP/1.1"
    assert atoms["{authorization}i"] == "[redacted]"
