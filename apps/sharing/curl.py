"""A cURL command for a redacted request: pure, no database.

Every "[redacted]" value becomes a shell variable (`"$API_KEY"`, `"$AUTHORIZATION"`) and
everything else is quoted with `shlex.quote`, so the command can be pasted as it is and run
after setting those variables, and it never holds a secret: it is built from values that were
redacted before they got here.
"""

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from apps.egress.redaction import REDACTED
from apps.runs.secrets import API_KEY_HEADER

API_KEY_VARIABLE = "API_KEY"
# Header and parameter names that all mean "the API key".
_API_KEY_NAMES = frozenset({"x-api-key", "api-key", "api_key", "apikey", "x_api_key"})
# What a query value may keep unescaped (RFC 3986 query characters, minus the separators).
_QUERY_SAFE = "!$'()*,;:@/?-._~"


@dataclass(frozen=True)
class Placeholder:
    """Where a secret went: the shell variable to set instead."""

    name: str


Piece = str | Placeholder


@dataclass(frozen=True)
class CurlCommand:
    text: str
    variables: list[str]  # the shell variables the command expects, in order of appearance


def variable_name(name: str) -> str:
    """The shell variable for the secret of a header or parameter: X-Api-Key → API_KEY,
    Authorization → AUTHORIZATION, access_token → ACCESS_TOKEN."""
    if name.strip().lower() in _API_KEY_NAMES:
        return API_KEY_VARIABLE
    cleaned = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()
    if not cleaned:
        return "SECRET"
    return cleaned if not cleaned[0].isdigit() else f"SECRET_{cleaned}"


def pieces_of(text: str, variable: str) -> list[Piece]:
    """The text with each "[redacted]" in it replaced by a placeholder for `variable`."""
    parts = text.split(REDACTED)
    pieces: list[Piece] = []
    for index, part in enumerate(parts):
        if index:
            pieces.append(Placeholder(variable))
        if part:
            pieces.append(part)
    return pieces


def shell_word(pieces: Sequence[Piece]) -> str:
    """One shell word: literal text single-quoted, placeholders as "$NAME" (expanded)."""
    if not pieces:
        return "''"
    return "".join(
        f'"${piece.name}"' if isinstance(piece, Placeholder) else shlex.quote(piece)
        for piece in pieces
    )


def _url_pieces(url: str, query: Sequence[tuple[str, str]]) -> list[Piece]:
    pieces: list[Piece] = pieces_of(url, "SECRET")
    separator = "&" if "?" in url else "?"
    for name, value in query:
        pieces.append(f"{separator}{quote(name, safe=_QUERY_SAFE)}=")
        if REDACTED in value:
            pieces.extend(pieces_of(value, variable_name(name)))
        elif value:
            pieces.append(quote(value, safe=_QUERY_SAFE))
        separator = "&"
    return _merged(pieces)


def _merged(pieces: list[Piece]) -> list[Piece]:
    """Adjacent literal pieces joined, so that each is quoted once."""
    merged: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    return merged


def curl_command(
    *,
    method: str,
    url: str,
    query: Sequence[tuple[str, str]] = (),
    headers: Sequence[tuple[str, str]] = (),
    has_api_key: bool = False,
    body: str = "",
    timeout: float | None = None,
    follow_redirects: bool = False,
) -> CurlCommand:
    """`curl` with the request's method, URL and query, headers, the API key header (as
    "$API_KEY") when the run had one, and the body, one option per line."""
    lines: list[list[list[Piece]]] = [[["curl"]]]
    if method == "HEAD":
        lines.append([["--head"]])
    elif method and (method != "GET" or body):
        lines.append([["-X"], [method]])
    if follow_redirects:
        lines.append([["-L"]])
    if timeout:
        lines.append([["--max-time"], [f"{timeout:g}"]])
    for name, value in headers:
        lines.append([["-H"], _header_pieces(name, value)])
    if has_api_key:
        lines.append([["-H"], _header_pieces(API_KEY_HEADER, REDACTED)])
    if body:
        lines.append([["--data-raw"], pieces_of(body, "BODY_SECRET")])
    lines.append([_url_pieces(url, query)])
    text = " \\\n  ".join(" ".join(shell_word(word) for word in line) for line in lines)
    variables: list[str] = []
    for line in lines:
        for word in line:
            for piece in word:
                if isinstance(piece, Placeholder) and piece.name not in variables:
                    variables.append(piece.name)
    return CurlCommand(text=text, variables=variables)


def _header_pieces(name: str, value: str) -> list[Piece]:
    return _merged([f"{name}: ", *pieces_of(value, variable_name(name))])


# The same request for other clients: Python requests and HTTPie, with the same placeholders.


def _python_value(pieces: Sequence[Piece]) -> str:
    """A Python expression: literals as str literals, placeholders as os.environ["NAME"]."""
    if not pieces:
        return '""'
    return " + ".join(
        f'os.environ["{piece.name}"]' if isinstance(piece, Placeholder) else repr(piece)
        for piece in pieces
    )


def python_requests_code(
    *,
    method: str,
    url: str,
    query: Sequence[tuple[str, str]] = (),
    headers: Sequence[tuple[str, str]] = (),
    has_api_key: bool = False,
    body: str = "",
    timeout: float | None = None,
    follow_redirects: bool = False,
) -> CurlCommand:
    """A Python program sending the request with `requests`; secrets from the environment."""
    pairs = [*headers, *([(API_KEY_HEADER, REDACTED)] if has_api_key else [])]
    lines = ["import os", "", "import requests", "", "response = requests.request("]
    lines.append(f"    {method!r},")
    lines.append(f"    {_python_value(pieces_of(url, 'SECRET'))},")
    if query:
        params = ", ".join(
            f"({name!r}, {_python_value(pieces_of(value, variable_name(name)))})"
            for name, value in query
        )
        lines.append(f"    params=[{params}],")
    if pairs:
        fields = ", ".join(
            f"{name!r}: {_python_value(pieces_of(value, variable_name(name)))}"
            for name, value in pairs
        )
        lines.append(f"    headers={{{fields}}},")
    if body:
        lines.append(f"    data={_python_value(pieces_of(body, 'BODY_SECRET'))}.encode(),")
    lines.append(f"    timeout={timeout:g}," if timeout else "    timeout=10,")
    lines.append(f"    allow_redirects={follow_redirects},")
    lines.append(")")
    lines.append("print(response.status_code, response.reason)")
    lines.append("print(response.text)")
    text = "\n".join(lines) + "\n"
    return CurlCommand(text=text, variables=_variables_in(text, 'os.environ["'))


def httpie_command(
    *,
    method: str,
    url: str,
    query: Sequence[tuple[str, str]] = (),
    headers: Sequence[tuple[str, str]] = (),
    has_api_key: bool = False,
    body: str = "",
    timeout: float | None = None,
    follow_redirects: bool = False,
) -> CurlCommand:
    """An HTTPie (3.2+) command: `Name:value` headers, `name==value` parameters, the body
    with --raw; secrets as shell variables."""
    words: list[list[Piece]] = [["http"], ["--ignore-stdin"]]
    if follow_redirects:
        words.append(["--follow"])
    if timeout:
        words.append([f"--timeout={timeout:g}"])
    words.append([method or "GET"])
    words.append(pieces_of(url, "SECRET"))
    for name, value in query:
        words.append(_merged([f"{name}==", *pieces_of(value, variable_name(name))]))
    for name, value in [*headers, *([(API_KEY_HEADER, REDACTED)] if has_api_key else [])]:
        words.append(_merged([f"{name}:", *pieces_of(value, variable_name(name))]))
    if body:
        words.append(["--raw"])
        words.append(pieces_of(body, "BODY_SECRET"))
    text = " ".join(shell_word(word) for word in words)
    variables: list[str] = []
    for word in words:
        for piece in word:
            if isinstance(piece, Placeholder) and piece.name not in variables:
                variables.append(piece.name)
    return CurlCommand(text=text, variables=variables)


def _variables_in(text: str, marker: str) -> list[str]:
    found: list[str] = []
    for part in text.split(marker)[1:]:
        name = part.split('"', 1)[0]
        if name not in found:
            found.append(name)
    return found
