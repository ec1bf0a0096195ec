"""What every collection importer gives: a named collection of requests in folders, with
its variables. Pure data; the library stores it in one transaction."""

import json
from dataclasses import dataclass, field
from typing import Any

from apps.runs.secrets import API_KEY_HEADER

MAX_FILE_BYTES = 5 * 1_048_576
MAX_REQUESTS = 1000


def is_api_key_header(name: str) -> bool:
    """A header whose value becomes the imported request's API key (the key field, sent in
    the run's API key header), in any case."""
    return name.lower() == API_KEY_HEADER.lower()


class ImportFailed(ValueError):
    """The file cannot be imported; the message names what is wrong and where."""


def loads_json(raw: str | bytes) -> Any:
    """`json.loads`, with text nested too deeply for it (a RecursionError, then a 500)
    refused as a ValueError, as text that is not JSON is."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("it is nested too deeply to be read") from None


@dataclass
class ImportedRequest:
    name: str
    method: str
    url: str  # may hold {{variables}}
    folder: str = ""  # "Folder/Subfolder", "" at the top
    headers: list[tuple[str, str]] = field(default_factory=list)
    params: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""
    api_key: str = ""  # sent as X-Api-Key
    description: str = ""
    timeout: float | None = None
    follow_redirects: bool = False
    source_index: int | None = None  # its place in the file, when entries are picked (HAR)


@dataclass
class ImportedCollection:
    name: str
    requests: list[ImportedRequest]
    variables: list[tuple[str, str]] = field(default_factory=list)
    description: str = ""
    warnings: list[str] = field(default_factory=list)


def check_size(raw: str | bytes, *, what: str) -> None:
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_FILE_BYTES:
        raise ImportFailed(
            f"The {what} is {size / 1_048_576:.1f} MB; up to {MAX_FILE_BYTES // 1_048_576} MB "
            "can be imported."
        )


def check_count(requests: list[ImportedRequest], *, what: str) -> None:
    if not requests:
        raise ImportFailed(f"The {what} holds no request to import.")
    if len(requests) > MAX_REQUESTS:
        raise ImportFailed(
            f"The {what} holds {len(requests)} requests; up to {MAX_REQUESTS} can be imported "
            "at once."
        )
