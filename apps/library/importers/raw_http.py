"""A pasted raw HTTP request (request line, headers, a blank line, the body) as a request:
pure, no Django, no network. The result has the cURL importer's shape, so both fill the
form the same way."""

import re

from apps.library.importers.collection import is_api_key_header
from apps.library.importers.curl import CLIENT_HEADERS, ParsedCurl

MAX_REQUEST_CHARS = 300_000
_REQUEST_LINE = re.compile(r"^([A-Za-z]+)[ \t]+(\S+)(?:[ \t]+HTTP/(\d(?:\.\d)?))?[ \t]*$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


class RawHttpError(ValueError):
    """The text cannot be read as an HTTP request; the message says why and on which line."""


def looks_like_raw_http(text: str) -> bool:
    """Whether the first line of the text is an HTTP request line."""
    first = text.lstrip().split("\n", 1)[0].rstrip("\r")
    return bool(_REQUEST_LINE.match(first)) and first.split()[0].isupper()


def parse_raw_http(text: str, *, scheme: str = "https") -> ParsedCurl:
    """The request the text describes; RawHttpError names the line that is wrong.

    A request line with a path alone (`GET /v2/x HTTP/1.1`) takes its host from the Host
    header and is sent over `scheme`."""
    if len(text) > MAX_REQUEST_CHARS:
        raise RawHttpError(f"The request is longer than {MAX_REQUEST_CHARS:,} characters.")
    lines = text.lstrip("\r\n").replace("\r\n", "\n").split("\n")
    match = _REQUEST_LINE.match(lines[0].strip()) if lines and lines[0].strip() else None
    if match is None:
        raise RawHttpError(
            "Line 1 is not a request line: write it as 'METHOD /path HTTP/1.1' or "
            "'METHOD https://host/path'."
        )
    method, target = match.group(1).upper(), match.group(2)
    headers: list[tuple[str, str]] = []
    number = 1
    body_start = len(lines)
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            body_start = number
            break
        if line[:1] in " \t":
            raise RawHttpError(
                f"Line {number} continues the header above (obsolete folding): put the "
                "header on one line."
            )
        name, sep, value = line.partition(":")
        if not sep or not _HEADER_NAME.match(name.strip()) or name != name.strip():
            raise RawHttpError(f"Line {number} is not a header: write it as 'Name: value'.")
        headers.append((name, value.strip()))
    body = "\n".join(lines[body_start:]).rstrip("\n") if body_start < len(lines) else ""
    notes: list[str] = []
    host = next((value for name, value in headers if name.lower() == "host"), "")
    if "://" in target:
        url = target
    elif target.startswith("/"):
        if not host:
            raise RawHttpError(
                "Line 1 names a path but there is no Host header: add one, or write the "
                "full URL on line 1."
            )
        url = f"{scheme}://{host}{target}"
        notes.append(f"The request line has no scheme: {scheme}:// was assumed.")
    else:
        raise RawHttpError("Line 1: the target is neither a path (/…) nor a full URL.")
    dropped = sorted({name for name, _ in headers if name.lower() in CLIENT_HEADERS | {"host"}})
    if dropped:
        notes.append("Left out, the HTTP client sets them itself: " + ", ".join(dropped) + ".")
    headers = [(n, v) for n, v in headers if n.lower() not in CLIENT_HEADERS | {"host"}]
    keys = [value for name, value in headers if is_api_key_header(name)]
    headers = [(n, v) for n, v in headers if not is_api_key_header(n)]
    return ParsedCurl(
        method=method,
        url=url,
        headers=headers,
        body=body,
        api_key=keys[-1] if keys else "",
        notes=notes,
    )
