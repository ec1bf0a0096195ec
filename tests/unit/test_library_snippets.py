"""Copy as cURL, Python requests and HTTPie: secrets as variables, the rest as sent; the
Python program compiles and the cURL command parses back to the same request."""

import shlex

from apps.egress.redaction import REDACTED
from apps.library.importers.curl import parse_curl
from apps.sharing.curl import curl_command, httpie_command, python_requests_code

REQUEST: dict = {
    "method": "POST",
    "url": "https://api.example.com/v1/orders",
    "query": [("page", "2"), ("access_token", REDACTED)],
    "headers": [("Content-Type", "application/json"), ("Authorization", f"Bearer {REDACTED}")],
    "has_api_key": True,
    "body": '{"qty": 1, "note": "it\'s"}',
    "timeout": 7.5,
    "follow_redirects": True,
}


def test_python_code_compiles_and_takes_secrets_from_the_environment() -> None:
    code = python_requests_code(**REQUEST)
    compile(code.text, "<snippet>", "exec")
    assert code.variables == ["ACCESS_TOKEN", "AUTHORIZATION", "API_KEY"]
    assert "'Bearer ' + os.environ[\"AUTHORIZATION\"]" in code.text
    assert "timeout=7.5," in code.text and "allow_redirects=True," in code.text
    assert REDACTED not in code.text


def test_httpie_command_has_items_and_variables() -> None:
    command = httpie_command(**REQUEST)
    words = shlex.split(command.text)  # "$NAME" stays $NAME: shlex expands nothing
    assert words[:6] == ["http", "--ignore-stdin", "--follow", "--timeout=7.5", "POST",
                         "https://api.example.com/v1/orders"]  # fmt: skip
    assert "page==2" in words and "access_token==$ACCESS_TOKEN" in words
    assert "Authorization:Bearer $AUTHORIZATION" in words and "X-Api-Key:$API_KEY" in words
    assert words[-2:] == ["--raw", REQUEST["body"]]
    assert command.variables == ["ACCESS_TOKEN", "AUTHORIZATION", "API_KEY"]


def test_curl_for_a_request_without_secrets_parses_back_to_it() -> None:
    plain = {**REQUEST, "query": [("page", "2")], "headers": REQUEST["headers"][:1],
             "has_api_key": False}  # fmt: skip
    parsed = parse_curl(curl_command(**plain).text)
    assert (parsed.method, parsed.url, parsed.body) == (
        "POST", "https://api.example.com/v1/orders?page=2", REQUEST["body"]
    )  # fmt: skip
    assert parsed.headers == [("Content-Type", "application/json")]
