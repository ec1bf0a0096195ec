"""This dashboard's own collection format (what "Export JSON" writes), read back.

    {"format": "apidiag.collection", "version": 1, "name": "…", "description": "…",
     "variables": [{"name": "…", "value": "…"}],
     "requests": [{"folder": "A/B", "name": "…", "description": "…", "method": "GET",
                   "url": "https://…", "params": [["name", "value"]],
                   "headers": [["Name", "value"]], "body": "…", "api_key": "{{api_key}}",
                   "timeout": 10.0, "follow_redirects": false}]}

Secret values are never written: each is a `{{variable}}` to be given a value after import.
"""

from typing import Any

from apps.library.importers.collection import (
    ImportedCollection,
    ImportedRequest,
    ImportFailed,
    check_count,
    check_size,
    loads_json,
)

FORMAT = "apidiag.collection"
VERSION = 1


def is_native(data: object) -> bool:
    return isinstance(data, dict) and data.get("format") == FORMAT


def parse_native(raw: str | bytes) -> ImportedCollection:
    check_size(raw, what="file")
    try:
        data = loads_json(raw)
    except ValueError as error:
        raise ImportFailed(f"The file is not JSON: {error}.") from None
    if not is_native(data):
        raise ImportFailed(f"This is not a collection export: `format` is not “{FORMAT}”.")
    if data.get("version") != VERSION:
        raise ImportFailed(f"`version` is {data.get('version')!r}; version {VERSION} is read.")
    if not isinstance(data.get("requests"), list):
        raise ImportFailed("`requests` is missing or is not a list.")
    variables = []
    for index, variable in enumerate(data.get("variables") or []):
        if not isinstance(variable, dict) or not isinstance(variable.get("name"), str):
            raise ImportFailed(f"`variables[{index}]` has no `name`.")
        variables.append((variable["name"], str(variable.get("value", ""))))
    requests = [_request(item, f"requests[{index}]") for index, item in enumerate(data["requests"])]
    check_count(requests, what="file")
    return ImportedCollection(
        name=str(data.get("name") or "Imported collection"),
        description=str(data.get("description") or ""),
        variables=variables,
        requests=requests,
    )


def _pairs(value: object, place: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(pair, list) and len(pair) == 2 for pair in value
    ):
        raise ImportFailed(f"`{place}` is not a list of [name, value] pairs.")
    return [(str(name), str(val)) for name, val in value]


def _request(item: Any, place: str) -> ImportedRequest:
    if not isinstance(item, dict):
        raise ImportFailed(f"`{place}` is not an object.")
    for key in ("name", "method", "url"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise ImportFailed(f"`{place}.{key}` is missing.")
    timeout = item.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float)):
        raise ImportFailed(f"`{place}.timeout` is not a number of seconds.")
    return ImportedRequest(
        name=item["name"],
        method=item["method"].upper(),
        url=item["url"],
        folder=str(item.get("folder") or ""),
        description=str(item.get("description") or ""),
        params=_pairs(item.get("params"), f"{place}.params"),
        headers=_pairs(item.get("headers"), f"{place}.headers"),
        body=str(item.get("body") or ""),
        api_key=str(item.get("api_key") or ""),
        timeout=float(timeout) if timeout is not None else None,
        follow_redirects=bool(item.get("follow_redirects")),
    )
