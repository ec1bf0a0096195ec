"""The cURL command of a shared run: quoted for the shell, secrets as "$VARIABLES"."""

import shlex
import shutil
import subprocess

import pytest

from apps.sharing.curl import Placeholder as P
from apps.sharing.curl import curl_command, pieces_of, shell_word, variable_name

R = "[redacted]"


def words(text: str) -> list[str]:
    """The command's words as a POSIX shell reads them (shlex knows no line continuations)."""
    assert text.count(" \\\n  ") == text.count("\n")  # one option per line
    return shlex.split(text.replace(" \\\n  ", " "))


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("X-Api-Key", "API_KEY"),
        ("api_key", "API_KEY"),
        ("apikey", "API_KEY"),
        ("Authorization", "AUTHORIZATION"),
        ("access_token", "ACCESS_TOKEN"),
        ("X-Auth-Token", "X_AUTH_TOKEN"),
        ("2fa.code", "SECRET_2FA_CODE"),
        ("--", "SECRET"),
    ],
)
def test_it_names_the_variable_after_the_header_or_parameter(name: str, variable: str) -> None:
    assert variable_name(name) == variable


@pytest.mark.parametrize(
    ("pieces", "word"),
    [
        ([], "''"),
        (["plain"], "plain"),
        (["it's"], "'it'\"'\"'s'"),
        (["a b"], "'a b'"),
        (["$HOME"], "'$HOME'"),  # a literal dollar is never expanded
        (["X: ", P("API_KEY")], "'X: '\"$API_KEY\""),
        ([P("A"), "&", P("B")], '"$A"\'&\'"$B"'),
    ],
)
def test_it_quotes_literals_and_leaves_placeholders_to_the_shell(
    pieces: list[str | P], word: str
) -> None:
    assert shell_word(pieces) == word


def test_it_turns_each_redacted_marker_into_a_placeholder() -> None:
    assert pieces_of(f'{{"a": "{R}", "b": "{R}"}}', "S") == [
        '{"a": "',
        P("S"),
        '", "b": "',
        P("S"),
        '"}',
    ]
    assert pieces_of(R, "S") == [P("S")]
    assert pieces_of("no secret", "S") == ["no secret"]


def test_it_builds_a_get_without_method_option_and_with_the_api_key_header() -> None:
    command = curl_command(
        method="GET",
        url="https://us.market-api.kaiko.io/v2/data",
        query=[("page_size", "10"), ("interval", "1d")],
        headers=[("Accept", "application/json")],
        has_api_key=True,
        timeout=10.0,
    )
    args = words(command.text)
    assert args == [
        "curl",
        "--max-time",
        "10",
        "-H",
        "Accept: application/json",
        "-H",
        "X-Api-Key: $API_KEY",
        "https://us.market-api.kaiko.io/v2/data?page_size=10&interval=1d",
    ]
    assert command.variables == ["API_KEY"]


def test_it_puts_placeholders_in_headers_query_and_body() -> None:
    command = curl_command(
        method="POST",
        url="http://127.0.0.1:8000/sandbox/echo?x=1",
        query=[("api_key", R), ("q", "a b&c")],
        headers=[("Authorization", R), ("Content-Type", "application/json")],
        body=f'{{"password": "{R}", "note": "it\'s"}}',
        follow_redirects=True,
    )
    args = words(command.text)
    assert args == [
        "curl",
        "-X",
        "POST",
        "-L",
        "-H",
        "Authorization: $AUTHORIZATION",
        "-H",
        "Content-Type: application/json",
        "--data-raw",
        '{"password": "$BODY_SECRET", "note": "it\'s"}',
        "http://127.0.0.1:8000/sandbox/echo?x=1&api_key=$API_KEY&q=a%20b%26c",
    ]
    assert command.variables == ["AUTHORIZATION", "BODY_SECRET", "API_KEY"]
    assert R not in command.text


def test_it_uses_head_for_head_requests() -> None:
    args = words(curl_command(method="HEAD", url="https://example.com/").text)
    assert args == ["curl", "--head", "https://example.com/"]


def test_it_never_expands_anything_the_request_itself_holds() -> None:
    nasty = "$(touch /tmp/pwned) `id` $HOME \\ ' \" ; | &"
    command = curl_command(
        method="POST",
        url=f"https://example.com/{nasty}",
        headers=[("X-Note", nasty)],
        body=nasty,
    )
    args = words(command.text)
    assert args[args.index("--data-raw") + 1] == nasty
    assert "X-Note: " + nasty in args
    assert command.variables == []


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_shell_fills_in_the_variables_and_nothing_else() -> None:
    nasty = "$(echo INJECTED) `echo INJECTED` it's"
    command = curl_command(
        method="POST",
        url="https://example.com/x",
        query=[("token", R)],
        headers=[("X-Api-Key", R), ("X-Note", nasty)],
        body=f'{{"secret": "{R}"}}',
    )
    # The same words, printed one per line instead of run.
    script = command.text.replace("curl", "printf '%s\\n'", 1)
    out = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        env={"API_KEY": "k-1", "TOKEN": "t-2", "BODY_SECRET": "b-3", "PATH": "/usr/bin:/bin"},
        check=True,
    ).stdout.splitlines()
    assert "X-Api-Key: k-1" in out
    assert f"X-Note: {nasty}" in out
    assert '{"secret": "b-3"}' in out
    assert "https://example.com/x?token=t-2" in out
    assert "INJECTED" not in "".join(line for line in out if not line.startswith("X-Note"))
