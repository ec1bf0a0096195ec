"""An OpenAPI document as a typed spec: hosts, auth schemes, operations with their
parameters and documented responses. Built from a document ``load_document`` accepted.

Schemas stay plain dicts (their ``$ref``s resolved lazily when a body is validated, so a
recursive schema costs nothing here); parameters, responses, request bodies and path items
are resolved once.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from apps.diagnosis.openapi.document import Document, SpecError, resolve_pointer, where

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_REF_HOPS = 32
MAX_SERVER_URLS = 32  # per server, once its variables are expanded


@dataclass(frozen=True)
class Server:
    url: str  # as written, variables replaced by their defaults
    scheme: str  # "https", or "" for a relative URL
    host: str  # lower case, "" for a relative URL (any host the profile covers)
    port: int | None
    base_path: str  # "/v1", "" for none


@dataclass(frozen=True)
class SecurityScheme:
    name: str  # its key in components.securitySchemes
    type: str  # "apiKey" | "http" | "oauth2" | "openIdConnect" | "mutualTLS"
    description: str = ""
    location: str = ""  # apiKey: "header" | "query" | "cookie"
    param_name: str = ""  # apiKey: the header, query parameter or cookie name
    http_scheme: str = ""  # http: "bearer" | "basic" | ... (lower case)

    def describe(self) -> str:
        """How the scheme is sent, for people: "the `X-Api-Key` header"."""
        if self.type == "apiKey":
            noun = {"header": "header", "query": "query parameter", "cookie": "cookie"}
            return f"the `{self.param_name}` {noun.get(self.location, self.location)}"
        if self.type == "http" and self.http_scheme == "basic":
            return "`Authorization: Basic` (user name and password)"
        if self.type == "http":
            return f"`Authorization: {self.http_scheme.capitalize() or 'Bearer'} <token>`"
        if self.type in ("oauth2", "openIdConnect"):
            return "`Authorization: Bearer <access token>` (OAuth 2)"
        return "a TLS client certificate"


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # "query" | "header" | "path" | "cookie"
    required: bool = False
    description: str = ""
    schema: Mapping[str, Any] = field(default_factory=dict)
    style: str = ""
    explode: bool | None = None
    deprecated: bool = False


@dataclass(frozen=True)
class ResponseDoc:
    key: str  # "200", "4XX", "default"
    description: str
    # Media type → the schema's place in the document ("#/paths/~1pets/get/...") or None.
    content: Mapping[str, str | None] = field(default_factory=dict)

    def schema_ref(self, content_type: str) -> str | None:
        """The documented schema for a response of this media type (JSON types first)."""
        if content_type in self.content:
            return self.content[content_type]
        for media, ref in self.content.items():
            if (media.endswith("+json") and content_type.endswith("json")) or media == "*/*":
                return ref
            if media.split("/")[0] + "/*" == media and content_type.startswith(media[:-1]):
                return ref
        return None


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # the template, as documented: "/pets/{petId}"
    operation_id: str = ""
    summary: str = ""
    description: str = ""
    parameters: tuple[Parameter, ...] = ()
    responses: Mapping[str, ResponseDoc] = field(default_factory=dict)
    # Alternatives, each a tuple of scheme names that must all be sent; () needs nothing.
    # None: the document's top-level `security` applies.
    security: tuple[tuple[str, ...], ...] | None = None
    deprecated: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def response_for(self, status: int) -> ResponseDoc | None:
        """The documented response for a status: its own, its range ("4XX"), or default."""
        return (
            self.responses.get(str(status))
            or self.responses.get(f"{str(status)[0]}XX")
            or self.responses.get("default")
        )


@dataclass(frozen=True)
class Spec:
    title: str
    api_version: str  # info.version
    openapi: str  # "3.0.3", "3.1.0"
    servers: tuple[Server, ...]
    schemes: Mapping[str, SecurityScheme]
    security: tuple[tuple[str, ...], ...]  # the document's default requirement
    operations: tuple[Operation, ...]
    document: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)
    # Set by whoever stores the spec: how a diagnosis names it ("Petstore, version 3").
    label: str = ""
    # Built once per spec and reused: schema validators by pointer (see checks._validator).
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.host for s in self.servers if s.host))

    def security_for(self, operation: Operation) -> tuple[tuple[str, ...], ...]:
        return self.security if operation.security is None else operation.security

    def paths(self) -> list[str]:
        return list(dict.fromkeys(op.path for op in self.operations))


def build_spec(document: Document | Mapping[str, Any]) -> Spec:
    """The typed spec of a checked document. Raises SpecError for what the document's
    validation cannot see (a reference that leads nowhere it should)."""
    data = document.data if isinstance(document, Document) else document
    info = data.get("info")
    info = info if isinstance(info, dict) else {}
    components = data.get("components")
    components = components if isinstance(components, dict) else {}
    raw_schemes = components.get("securitySchemes") or {}
    schemes = {
        name: _scheme(name, _resolve(data, value, ("components", "securitySchemes", name)))
        for name, value in raw_schemes.items()
        if isinstance(name, str)
    }
    operations: list[Operation] = []
    paths = data.get("paths") or {}
    for template, item in paths.items():
        item = _resolve(data, item, ("paths", template))
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters") or []
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            pointer = f"#/paths/{_escape(template)}/{method}"
            operations.append(_operation(data, template, method, op, shared, pointer))
    return Spec(
        title=str(info.get("title") or "Untitled API"),
        api_version=str(info.get("version") or ""),
        openapi=str(data.get("openapi")),
        servers=tuple(_servers(data.get("servers"))),
        schemes=schemes,
        security=_requirements(data.get("security")) or (),
        operations=tuple(operations),
        document=data,
    )


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _resolve(data: Mapping[str, Any], value: object, path: tuple[str | int, ...]) -> Any:
    hops = 0
    while isinstance(value, dict) and isinstance(value.get("$ref"), str):
        hops += 1
        if hops > MAX_REF_HOPS:
            raise SpecError("References lead to more references without end.", where=where(path))
        ref = value["$ref"]
        try:
            value = resolve_pointer(data, ref)
        except KeyError:
            raise SpecError(
                f'The reference "{ref}" points at nothing.', where=where(path)
            ) from None
    return value


def _servers(raw: object) -> list[Server]:
    servers = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            continue
        for url in _server_urls(item["url"], item.get("variables")):
            try:
                parts = urlsplit(url)
                port = parts.port
            except ValueError:
                continue
            servers.append(
                Server(
                    url=url,
                    scheme=parts.scheme.lower(),
                    host=(parts.hostname or "").lower(),
                    port=port,
                    base_path=parts.path.rstrip("/"),
                )
            )
    unique = list({server.url: server for server in servers}.values())
    return unique or [Server(url="/", scheme="", host="", port=None, base_path="")]


def _server_urls(url: str, variables: object) -> list[str]:
    """The URL with each variable replaced by each of its values (enum, else default)."""
    urls = [url]
    for name, variable in (variables if isinstance(variables, dict) else {}).items():
        if not isinstance(variable, dict):
            continue
        values = [str(v) for v in variable.get("enum") or []] or [str(variable.get("default", ""))]
        urls = [u.replace("{" + str(name) + "}", v) for u in urls for v in values]
        urls = urls[:MAX_SERVER_URLS]
    return urls


def _scheme(name: str, raw: object) -> SecurityScheme:
    raw = raw if isinstance(raw, dict) else {}
    return SecurityScheme(
        name=name,
        type=str(raw.get("type") or ""),
        description=str(raw.get("description") or ""),
        location=str(raw.get("in") or ""),
        param_name=str(raw.get("name") or ""),
        http_scheme=str(raw.get("scheme") or "").lower(),
    )


def _requirements(raw: object) -> tuple[tuple[str, ...], ...] | None:
    if not isinstance(raw, list):
        return None
    return tuple(tuple(str(k) for k in item) for item in raw if isinstance(item, dict))


def _parameter(data: Mapping[str, Any], raw: object, path: tuple[str | int, ...]) -> Parameter:
    raw = _resolve(data, raw, path)
    raw = raw if isinstance(raw, dict) else {}
    schema = raw.get("schema")
    if not isinstance(schema, dict):  # "content" parameters: the first media type's schema
        content = raw.get("content")
        content = content if isinstance(content, dict) else {}
        first: object = next(iter(content.values()), {})
        schema = first.get("schema") if isinstance(first, dict) else None
    location = str(raw.get("in") or "")
    return Parameter(
        name=str(raw.get("name") or ""),
        location=location,
        required=bool(raw.get("required")) or location == "path",
        description=str(raw.get("description") or ""),
        schema=schema if isinstance(schema, dict) else {},
        style=str(raw.get("style") or ""),
        explode=raw.get("explode") if isinstance(raw.get("explode"), bool) else None,
        deprecated=bool(raw.get("deprecated")),
    )


def _operation(
    data: Mapping[str, Any],
    template: str,
    method: str,
    raw: dict[str, Any],
    shared: list[Any],
    pointer: str,
) -> Operation:
    base = ("paths", template, method)
    params: dict[tuple[str, str], Parameter] = {}
    for i, item in enumerate(shared if isinstance(shared, list) else []):
        p = _parameter(data, item, ("paths", template, "parameters", i))
        params[(p.name, p.location)] = p
    for i, item in enumerate(raw.get("parameters") or []):
        p = _parameter(data, item, (*base, "parameters", i))
        params[(p.name, p.location)] = p  # the operation's own wins
    responses: dict[str, ResponseDoc] = {}
    for written, value in (raw.get("responses") or {}).items():
        key = str(written).upper() if str(written).lower() != "default" else "default"
        resolved = _resolve(data, value, (*base, "responses", key))
        if not isinstance(resolved, dict):
            continue
        # The schema's pointer: from the resolved response, wherever it lives.
        holder = value.get("$ref") if isinstance(value, dict) and "$ref" in value else None
        if holder:
            # Follow the chain to the last reference, whose target holds the content.
            target = value
            while isinstance(target, dict) and isinstance(target.get("$ref"), str):
                holder = target["$ref"]
                target = resolve_pointer(data, holder)
            response_pointer = holder
        else:
            response_pointer = f"{pointer}/responses/{_escape(str(written))}"
        content = {}
        for media, body in (resolved.get("content") or {}).items():
            has_schema = isinstance(body, dict) and isinstance(body.get("schema"), dict | bool)
            content[str(media).lower()] = (
                f"{response_pointer}/content/{_escape(str(media))}/schema" if has_schema else None
            )
        responses[key] = ResponseDoc(
            key=key, description=str(resolved.get("description") or ""), content=content
        )
    return Operation(
        method=method.upper(),
        path=template,
        operation_id=str(raw.get("operationId") or ""),
        summary=str(raw.get("summary") or ""),
        description=str(raw.get("description") or ""),
        parameters=tuple(params.values()),
        responses=responses,
        security=_requirements(raw.get("security")),
        deprecated=bool(raw.get("deprecated")),
    )
