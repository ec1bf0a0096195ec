"""A Postman collection (v2.1, and v2.0 which differs only in how auth is written) as an
imported collection: folders, requests, collection variables, and auth (API key, bearer,
basic) inherited from the collection and folders as Postman does. Pure: no Django, no
network. `{{variables}}` are kept as written: they are resolved when a request is run."""

import base64
import json
from typing import Any
from urllib.parse import urlencode

from apps.library.importers.collection import (
    ImportedCollection,
    ImportedRequest,
    ImportFailed,
    check_count,
    check_size,
    is_api_key_header,
    loads_json,
)

SCHEMAS = ("/collection/v2.1", "/collection/v2.0")
MAX_DEPTH = 20


def parse_postman(raw: str | bytes) -> ImportedCollection:
    """The collection in a Postman export; ImportFailed names what is wrong and where."""
    check_size(raw, what="file")
    try:
        data = loads_json(raw)
    except ValueError as error:
        raise ImportFailed(f"The file is not JSON: {error}.") from None
    if not isinstance(data, dict) or not isinstance(data.get("info"), dict):
        raise ImportFailed("This is not a Postman collection: it has no `info` object.")
    info = data["info"]
    schema = str(info.get("schema", ""))
    if not any(part in schema for part in SCHEMAS):
        raise ImportFailed(
            "Only Postman collections v2.1 and v2.0 can be imported: `info.schema` is "
            f"{schema or 'missing'}. Export the collection again as v2.1 from Postman."
        )
    if not isinstance(data.get("item"), list):
        raise ImportFailed("`item` is missing or is not a list: the collection has no requests.")
    collection = ImportedCollection(
        name=_text(info.get("name")) or "Imported collection",
        requests=[],
        variables=_variables(data.get("variable"), where="variable"),
        description=_description(info.get("description")),
    )
    _items(data["item"], collection, folder=[], auth=data.get("auth"), where="item", depth=0)
    check_count(collection.requests, what="collection")
    return collection


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _description(value: object) -> str:
    if isinstance(value, dict):
        return _text(value.get("content"))
    return _text(value)


def _variables(raw: object, *, where: str) -> list[tuple[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ImportFailed(f"`{where}` is not a list.")
    found = []
    for index, variable in enumerate(raw):
        if not isinstance(variable, dict) or not _text(variable.get("key")):
            raise ImportFailed(f"`{where}[{index}]` has no `key`.")
        if variable.get("disabled"):
            continue
        found.append((_text(variable["key"]), _text(variable.get("value"))))
    return found


def _items(
    items: list[Any],
    collection: ImportedCollection,
    *,
    folder: list[str],
    auth: object,
    where: str,
    depth: int,
) -> None:
    if depth > MAX_DEPTH:
        raise ImportFailed(f"`{where}`: folders are nested more than {MAX_DEPTH} deep.")
    for index, item in enumerate(items):
        place = f"{where}[{index}]"
        if not isinstance(item, dict):
            raise ImportFailed(f"`{place}` is not an object.")
        name = _text(item.get("name")) or f"Request {index + 1}"
        place = f"{place} (“{name[:60]}”)"
        if isinstance(item.get("item"), list):
            inherited = item["auth"] if item.get("auth") else auth
            _items(item["item"], collection, folder=[*folder, name], auth=inherited,
                   where=f"{place}.item", depth=depth + 1)  # fmt: skip
        elif "request" in item:
            collection.requests.append(
                _request(item["request"], name, folder, auth, place, collection.warnings)
            )
        else:
            raise ImportFailed(f"`{place}` is neither a folder (item) nor a request.")


def _request(
    raw: object, name: str, folder: list[str], auth: object, place: str, warnings: list[str]
) -> ImportedRequest:
    if isinstance(raw, str):  # a request written as its URL alone
        raw = {"method": "GET", "url": raw}
    if not isinstance(raw, dict):
        raise ImportFailed(f"`{place}.request` is not an object.")
    url = _url(raw.get("url"), place)
    request = ImportedRequest(
        name=name[:200],
        method=(_text(raw.get("method")) or "GET").upper(),
        url=url,
        folder="/".join(folder),
        description=_description(raw.get("description")),
    )
    for index, header in enumerate(raw.get("header") or []):
        if not isinstance(header, dict) or not _text(header.get("key")):
            raise ImportFailed(f"`{place}.request.header[{index}]` has no `key`.")
        if header.get("disabled"):
            continue
        request.headers.append((_text(header["key"]), _text(header.get("value"))))
    _body(raw.get("body"), request, place, warnings)
    _auth(raw["auth"] if raw.get("auth") else auth, request, place, warnings)
    keys = [value for key, value in request.headers if is_api_key_header(key)]
    if keys:
        request.headers = [(k, v) for k, v in request.headers if not is_api_key_header(k)]
        request.api_key = keys[-1]
    return request


def _url(raw: object, place: str) -> str:
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    if isinstance(raw, dict):
        if _text(raw.get("raw")).strip():
            return _text(raw["raw"]).strip()
        host = raw.get("host")
        host_text = ".".join(map(_text, host)) if isinstance(host, list) else _text(host)
        path = raw.get("path")
        path_text = "/".join(map(_text, path)) if isinstance(path, list) else _text(path)
        if host_text:
            url = f"{_text(raw.get('protocol')) or 'https'}://{host_text}"
            if raw.get("port"):
                url += f":{_text(raw['port'])}"
            url += "/" + path_text.lstrip("/") if path_text else ""
            query = [
                (_text(q.get("key")), _text(q.get("value")))
                for q in raw.get("query") or []
                if isinstance(q, dict) and not q.get("disabled")
            ]
            return url + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
    raise ImportFailed(f"`{place}.request.url` is missing.")


def _body(raw: object, request: ImportedRequest, place: str, warnings: list[str]) -> None:
    if not isinstance(raw, dict) or raw.get("disabled"):
        return
    mode = _text(raw.get("mode"))
    has_type = any(key.lower() == "content-type" for key, _ in request.headers)
    if mode == "raw":
        request.body = _text(raw.get("raw"))
        options = raw.get("options")
        language = ""
        if isinstance(options, dict) and isinstance(options.get("raw"), dict):
            language = _text(options["raw"].get("language"))
        if request.body and language == "json" and not has_type:
            request.headers.append(("Content-Type", "application/json"))
    elif mode == "urlencoded":
        pairs = [
            (_text(p.get("key")), _text(p.get("value")))
            for p in raw.get("urlencoded") or []
            if isinstance(p, dict) and not p.get("disabled")
        ]
        request.body = urlencode(pairs)
        if not has_type:
            request.headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    elif mode == "graphql" and isinstance(raw.get("graphql"), dict):
        graphql = raw["graphql"]
        variables = _text(graphql.get("variables")).strip()
        try:
            parsed = loads_json(variables) if variables else {}
        except ValueError:
            raise ImportFailed(f"`{place}.request.body.graphql.variables` is not JSON.") from None
        request.body = json.dumps({"query": _text(graphql.get("query")), "variables": parsed})
        if not has_type:
            request.headers.append(("Content-Type", "application/json"))
    elif mode:
        warnings.append(f"“{request.name}”: a {mode} body cannot be imported; left out.")


def _auth_values(auth: dict[str, Any], kind: str) -> dict[str, str]:
    """v2.1 writes [{key, value}, …]; v2.0 an object."""
    raw = auth.get(kind)
    if isinstance(raw, list):
        return {
            _text(entry.get("key")): _text(entry.get("value"))
            for entry in raw
            if isinstance(entry, dict)
        }
    if isinstance(raw, dict):
        return {key: _text(value) for key, value in raw.items()}
    return {}


def _auth(auth: object, request: ImportedRequest, place: str, warnings: list[str]) -> None:
    if not isinstance(auth, dict):
        return
    kind = _text(auth.get("type"))
    values = _auth_values(auth, kind)
    if kind in {"", "noauth", "inherit"}:
        return
    if kind == "apikey":
        name, value = values.get("key", ""), values.get("value", "")
        if not name:
            raise ImportFailed(f"`{place}`: its API key auth names no key.")
        if values.get("in", "header") == "query":
            request.params.append((name, value))
        elif is_api_key_header(name):
            request.api_key = value
        else:
            request.headers.append((name, value))
    elif kind == "bearer":
        request.headers.append(("Authorization", f"Bearer {values.get('token', '')}"))
    elif kind == "basic":
        pair = f"{values.get('username', '')}:{values.get('password', '')}"
        if "{{" in pair:
            warnings.append(
                f"“{request.name}”: basic auth made of variables is encoded as written; "
                "put the user name and password in it."
            )
        request.headers.append(
            ("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
        )
    else:
        warnings.append(f"“{request.name}”: {kind} auth cannot be imported; left out.")
