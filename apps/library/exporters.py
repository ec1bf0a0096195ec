"""A collection written out: this dashboard's own JSON (importers/native.py documents it)
and a Postman collection v2.1. Secret values are never written: each becomes a
`{{variable}}` (an API key `{{api_key}}`, a credential header or parameter its name), which
the export lists among its variables with no value."""

import re
from dataclasses import dataclass
from typing import Any

from apps.library.importers.native import FORMAT, VERSION
from apps.library.models import Collection, SavedRequest
from apps.library.services import restored
from apps.runs import secrets

POSTMAN_SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
_VARIABLE_ONLY = re.compile(r"^(?:[A-Za-z]+ )?(?:\{\{[^{}]+\}\}\s*)+$")


@dataclass
class Exported:
    """A saved request as it may leave the dashboard."""

    saved: SavedRequest
    params: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    api_key: str


def _placeholder(name: str, value: str, wanted: dict[str, str]) -> str:
    """A value made of variables only ("Bearer {{token}}") is no secret: kept. Anything
    else becomes {{name}}."""
    if _VARIABLE_ONLY.match(value.strip()):
        return value
    variable = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_").lower() or "secret"
    wanted.setdefault(variable, "")
    scheme, _, rest = value.partition(" ")
    if rest and scheme.lower() in {"bearer", "basic", "token"}:
        return f"{scheme} {{{{{variable}}}}}"
    return f"{{{{{variable}}}}}"


def exported_requests(collection: Collection) -> tuple[list[Exported], dict[str, str]]:
    """The requests with their secrets as variables, and the variables it added."""
    wanted: dict[str, str] = {}
    found = []
    for saved in collection.requests.all():
        kept = secrets.decrypt(saved.secrets_encrypted)
        params = restored(saved.query, kept.params, by_lower_name=False)
        headers = restored(saved.request_headers, kept.headers, by_lower_name=True)
        secret_params = {name for name, _ in kept.params}
        secret_headers = {name.lower() for name, _ in kept.headers}
        found.append(
            Exported(
                saved=saved,
                params=[
                    (n, _placeholder(n, v, wanted) if n in secret_params else v) for n, v in params
                ],
                headers=[
                    (n, _placeholder(n, v, wanted) if n.lower() in secret_headers else v)
                    for n, v in headers
                ],
                api_key=_placeholder("api_key", kept.api_key, wanted) if kept.api_key else "",
            )
        )
    return found, wanted


def _variables(collection: Collection, wanted: dict[str, str]) -> list[tuple[str, str]]:
    own = [(str(n), str(v)) for n, v in collection.variables]
    known = {name for name, _ in own}
    return own + [(name, "") for name in sorted(wanted) if name not in known]


def native_export(collection: Collection) -> dict[str, Any]:
    requests, wanted = exported_requests(collection)
    return {
        "format": FORMAT,
        "version": VERSION,
        "name": collection.name,
        "description": collection.description,
        "variables": [{"name": n, "value": v} for n, v in _variables(collection, wanted)],
        "requests": [
            {
                "folder": item.saved.folder,
                "name": item.saved.name,
                "description": item.saved.description,
                "method": item.saved.method,
                "url": item.saved.url,
                "params": [[n, v] for n, v in item.params],
                "headers": [[n, v] for n, v in item.headers],
                "body": item.saved.request_body,
                "api_key": item.api_key,
                "timeout": item.saved.timeout_seconds,
                "follow_redirects": item.saved.follow_redirects,
            }
            for item in requests
        ],
    }


def _postman_url(item: Exported) -> str:
    url = item.saved.url
    if item.params:
        query = "&".join(f"{n}={v}" for n, v in item.params)
        url += ("&" if "?" in url else "?") + query
    return url


def _postman_request(item: Exported) -> dict[str, Any]:
    request: dict[str, Any] = {
        "method": item.saved.method,
        "header": [{"key": n, "value": v} for n, v in item.headers],
        "url": {"raw": _postman_url(item)},
    }
    if item.saved.request_body:
        request["body"] = {"mode": "raw", "raw": item.saved.request_body}
    if item.api_key:
        request["auth"] = {
            "type": "apikey",
            "apikey": [
                {"key": "key", "value": secrets.API_KEY_HEADER},
                {"key": "value", "value": item.api_key},
                {"key": "in", "value": "header"},
            ],
        }
    if item.saved.description:
        request["description"] = item.saved.description
    return request


def postman_export(collection: Collection) -> dict[str, Any]:
    requests, wanted = exported_requests(collection)
    root: list[dict[str, Any]] = []
    folders: dict[str, list[dict[str, Any]]] = {"": root}
    for item in requests:
        path = ""
        items = root
        for part in [p for p in item.saved.folder.split("/") if p]:
            path = f"{path}/{part}"
            if path not in folders:
                folder: dict[str, Any] = {"name": part, "item": []}
                items.append(folder)
                folders[path] = folder["item"]
            items = folders[path]
        items.append({"name": item.saved.name, "request": _postman_request(item)})
    return {
        "info": {
            "name": collection.name,
            "description": collection.description,
            "schema": POSTMAN_SCHEMA,
        },
        "item": root,
        "variable": [{"key": n, "value": v} for n, v in _variables(collection, wanted)],
    }
