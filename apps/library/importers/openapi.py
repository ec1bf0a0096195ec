"""An OpenAPI 3.x spec as a collection: each operation a request, in a folder per tag,
with example parameters (the schema's example, default or first enum value; a `{{name}}`
variable when it has none) and its auth as variables. Pure: takes the spec that
apps.diagnosis.openapi read and checked; no Django, no network."""

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from apps.diagnosis.openapi import Operation, Spec
from apps.library.importers.collection import (
    ImportedCollection,
    ImportedRequest,
    check_count,
    is_api_key_header,
)

_NO_EXAMPLE = object()


def collection_from_spec(spec: Spec) -> ImportedCollection:
    server = next((s for s in spec.servers if s.host), None)
    base = server.url.rstrip("/") if server else "{{base_url}}"
    collection = ImportedCollection(
        name=spec.title[:200],
        requests=[],
        description=f"From the OpenAPI document “{spec.title}” {spec.api_version}".strip(),
    )
    variables: dict[str, str] = {}
    if server is None:
        variables["base_url"] = ""
        collection.warnings.append(
            "The document names no server with a host: set the base_url variable."
        )
    for operation in spec.operations:
        collection.requests.append(_request(spec, operation, base, variables))
    collection.variables = sorted(variables.items())
    check_count(collection.requests, what="document")
    return collection


def _example(schema: Mapping[str, Any]) -> object:
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    return _NO_EXAMPLE


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _raw_operation(spec: Spec, operation: Operation) -> Mapping[str, Any]:
    paths = spec.document.get("paths") or {}
    item = paths.get(operation.path) if isinstance(paths, Mapping) else None
    raw = item.get(operation.method.lower()) if isinstance(item, Mapping) else None
    return raw if isinstance(raw, Mapping) else {}


def _request(
    spec: Spec, operation: Operation, base: str, variables: dict[str, str]
) -> ImportedRequest:
    raw = _raw_operation(spec, operation)
    tags = raw.get("tags")
    path = operation.path
    params: list[tuple[str, str]] = []
    headers: list[tuple[str, str]] = []
    for parameter in operation.parameters:
        example = _example(parameter.schema)
        if example is _NO_EXAMPLE and not parameter.required:
            continue
        value = f"{{{{{parameter.name}}}}}" if example is _NO_EXAMPLE else _text(example)
        if example is _NO_EXAMPLE:
            variables.setdefault(parameter.name, "")
        if parameter.location == "path":
            shown = value if example is _NO_EXAMPLE else quote(value, safe="")
            path = path.replace("{" + parameter.name + "}", shown)
        elif parameter.location == "query":
            params.append((parameter.name, value))
        elif parameter.location == "header":
            headers.append((parameter.name, value))
    request = ImportedRequest(
        name=(
            operation.summary or operation.operation_id or f"{operation.method} {operation.path}"
        )[:200],
        method=operation.method,
        url=base + path,
        folder=str(tags[0]) if isinstance(tags, list) and tags else "",
        headers=headers,
        params=params,
        description=operation.description,
    )
    _body(raw, request)
    _auth(spec, operation, request, variables)
    return request


def _body(raw: Mapping[str, Any], request: ImportedRequest) -> None:
    body = raw.get("requestBody")
    content = body.get("content") if isinstance(body, Mapping) else None
    if not isinstance(content, Mapping):
        return
    for media_type, media in content.items():
        if "json" not in str(media_type) or not isinstance(media, Mapping):
            continue
        example = media.get("example")
        if example is None and isinstance(media.get("schema"), Mapping):
            found = _example(media["schema"])
            example = None if found is _NO_EXAMPLE else found
        request.headers.append(("Content-Type", str(media_type)))
        request.body = json.dumps(example if example is not None else {}, indent=2)
        return


def _auth(
    spec: Spec, operation: Operation, request: ImportedRequest, variables: dict[str, str]
) -> None:
    requirements = operation.security if operation.security is not None else spec.security
    if not requirements or not requirements[0]:
        return
    for name in requirements[0]:
        scheme = spec.schemes.get(name)
        if scheme is None:
            continue
        if scheme.type == "apiKey" and scheme.param_name:
            if scheme.location == "header" and is_api_key_header(scheme.param_name):
                request.api_key = "{{api_key}}"
                variables.setdefault("api_key", "")
            elif scheme.location == "header":
                request.headers.append((scheme.param_name, f"{{{{{scheme.param_name}}}}}"))
                variables.setdefault(scheme.param_name, "")
            elif scheme.location == "query":
                request.params.append((scheme.param_name, f"{{{{{scheme.param_name}}}}}"))
                variables.setdefault(scheme.param_name, "")
        elif scheme.type == "http" and scheme.http_scheme == "bearer":
            request.headers.append(("Authorization", "Bearer {{token}}"))
            variables.setdefault("token", "")
        elif scheme.type == "http" and scheme.http_scheme == "basic":
            request.headers.append(("Authorization", "Basic {{basic_credentials}}"))
            variables.setdefault("basic_credentials", "")
