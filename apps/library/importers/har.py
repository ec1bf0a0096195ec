"""A HAR file (as browsers' DevTools, Playwright or this dashboard export it) as a
collection: each entry a request, in a folder per host. Pure: no Django, no network."""

from typing import Any
from urllib.parse import urlsplit

from apps.egress.types import BODYLESS_METHODS
from apps.library.importers.collection import (
    ImportedCollection,
    ImportedRequest,
    ImportFailed,
    check_count,
    check_size,
    is_api_key_header,
    loads_json,
)

# Headers the HTTP client sets itself, and HTTP/2 pseudo-headers (":authority" …).
CLIENT_HEADERS = frozenset(
    {"host", "content-length", "connection", "transfer-encoding", "te", "upgrade", "keep-alive"}
)


def har_entries(raw: str | bytes) -> list[object]:
    """The file's entries, as they are (for the diagnose-as-recorded path)."""
    return list(loads_json(raw)["log"]["entries"])


def parse_har(raw: str | bytes, *, name: str = "Imported HAR") -> ImportedCollection:
    check_size(raw, what="file")
    try:
        data = loads_json(raw)
    except ValueError as error:
        raise ImportFailed(f"The file is not JSON: {error}.") from None
    log = data.get("log") if isinstance(data, dict) else None
    if not isinstance(log, dict) or not isinstance(log.get("entries"), list):
        raise ImportFailed("This is not a HAR file: it has no `log.entries` list.")
    collection = ImportedCollection(name=name, requests=[])
    for index, entry in enumerate(log["entries"]):
        request = _request(entry, f"log.entries[{index}]", collection.warnings)
        if request is not None:
            request.source_index = index
            collection.requests.append(request)
    check_count(collection.requests, what="HAR file")
    return collection


def _request(entry: object, place: str, warnings: list[str]) -> ImportedRequest | None:
    raw: Any = entry.get("request") if isinstance(entry, dict) else None
    if not isinstance(raw, dict):
        raise ImportFailed(f"`{place}.request` is missing.")
    url = raw.get("url")
    if not isinstance(url, str) or not url:
        raise ImportFailed(f"`{place}.request.url` is missing.")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        warnings.append(f"`{place}`: a {parts.scheme or 'relative'} URL is not HTTP; left out.")
        return None
    method = str(raw.get("method") or "GET").upper()
    headers: list[tuple[str, str]] = []
    api_key = ""
    for index, header in enumerate(raw.get("headers") or []):
        if not isinstance(header, dict) or not isinstance(header.get("name"), str):
            raise ImportFailed(f"`{place}.request.headers[{index}]` has no `name`.")
        name, value = header["name"], str(header.get("value", ""))
        if name.startswith(":") or name.lower() in CLIENT_HEADERS:
            continue
        if is_api_key_header(name):
            api_key = value
            continue
        headers.append((name, value))
    post = raw.get("postData")
    body = str(post.get("text") or "") if isinstance(post, dict) else ""
    if isinstance(post, dict) and not body and post.get("params"):
        warnings.append(f"`{place}`: a multipart body cannot be imported; left out.")
    if method in BODYLESS_METHODS:
        body = ""
    return ImportedRequest(
        name=f"{method} {parts.path or '/'}"[:200],
        method=method,
        url=url,
        folder=(parts.hostname or "")[:500],
        headers=headers,
        body=body,
        api_key=api_key,
    )
