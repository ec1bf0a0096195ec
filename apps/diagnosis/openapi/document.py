"""Read an OpenAPI 3.0 or 3.1 document (JSON or YAML text) into plain data, or say clearly
where it is wrong.

Pure: no Django, no network. The checks run in this order, each one bounded, so that no
document can make the caller hang or fail with anything but a ``SpecError``:
1. size (``MAX_DOCUMENT_BYTES``), then syntax (JSON or YAML, with the line and column);
2. shape: nesting depth and node count (YAML aliases are counted each time they are used,
   so an alias bomb stops here); keys become strings, dates their ISO form;
3. references: only ``#/...`` references inside the document (never a file or a URL, which
   a validator would otherwise fetch), each pointing at something, and no cycle that can
   never end (``A → B → A``, or a schema that is itself through ``allOf``/``anyOf``/...);
   a schema that contains itself through ``properties`` or ``items`` is a tree, and fine;
4. the OpenAPI rules themselves (openapi-spec-validator), the first error with its place.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import yaml

MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 1_000_000
SUPPORTED_VERSIONS = re.compile(r"3\.[01]\.\d+")
# Keywords whose subschemas apply to the same instance: a cycle through them never ends.
_SAME_INSTANCE = ("allOf", "anyOf", "oneOf")
_SAME_INSTANCE_ONE = ("not", "if", "then", "else")
# JSON Schema's other references (3.1): never followed outside the document either.
_OTHER_REFERENCES = ("$dynamicRef", "$recursiveRef")


class SpecError(Exception):
    """What is wrong with a document, for people, and where: its line (1-based, when known)
    and its place as a JSON pointer-like path (``paths./pets.get.parameters[0].in``)."""

    def __init__(
        self, message: str, line: int | None = None, column: int | None = None, where: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.where = where

    def __str__(self) -> str:
        place = []
        if self.line is not None:
            place.append(f"line {self.line}" + (f", column {self.column}" if self.column else ""))
        if self.where:
            place.append(f"at {self.where}")
        return f"{self.message} ({'; '.join(place)})" if place else self.message


@dataclass(frozen=True)
class Document:
    """A document that passed every check: its data and its OpenAPI version ("3.0.3")."""

    data: dict[str, Any]
    version: str
    format: str  # "json" | "yaml"


def load_document(text: str | bytes, *, validate: bool = True) -> Document:
    """The document in ``text``, checked; raises SpecError naming what and where.

    validate=False skips the OpenAPI rules (step 4), for documents checked before.
    """
    if isinstance(text, bytes):
        if len(text) > MAX_DOCUMENT_BYTES:
            raise _too_large(len(text))
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise SpecError(
                f"The document is not UTF-8 text (byte {error.start} cannot be read)."
            ) from None
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_DOCUMENT_BYTES:
        raise _too_large(size)
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise SpecError("The document is empty.")
    raw, fmt = _parse(text)
    if not isinstance(raw, dict):
        raise SpecError("The document is not an OpenAPI object: its top level must be a mapping.")
    data = _normalise(raw, text)
    version = data.get("openapi")
    if not isinstance(version, str) or not SUPPORTED_VERSIONS.fullmatch(version):
        if "swagger" in data:
            message = "This is a Swagger 2.0 document: convert it to OpenAPI 3.0 or 3.1 first."
        else:
            message = (
                f"`openapi` must be a 3.0.x or 3.1.x version, not {_shown(version)}."
                if version is not None
                else "The document has no `openapi` version field: is it an OpenAPI document?"
            )
        raise _located(message, text, ("openapi",) if version is not None else ())
    _check_references(data, text)
    if validate:
        _check_openapi_rules(data, version, text)
    return Document(data=data, version=version, format=fmt)


def _too_large(size: int) -> SpecError:
    return SpecError(
        f"The document is {size / 1_048_576:.1f} MB; documents of up to "
        f"{MAX_DOCUMENT_BYTES // 1_048_576} MB are accepted."
    )


def _shown(value: object) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."


# ------------------------------------------------------------------------------- syntax


def _parse(text: str) -> tuple[object, str]:
    if text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text), "json"
        except json.JSONDecodeError as error:
            raise SpecError(
                f"The JSON is not valid: {error.msg}.", line=error.lineno, column=error.colno
            ) from None
        except RecursionError:
            raise SpecError(f"The document is nested more than {MAX_DEPTH} levels deep.") from None
    try:
        return yaml.load(text, Loader=_Loader), "yaml"  # noqa: S506 (a safe loader, below)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(part for part in (error.context, error.problem) if part)
        raise SpecError(
            f"The YAML is not valid: {problem or 'cannot be read'}.",
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as error:
        raise SpecError(f"The YAML is not valid: {error}.") from None
    except RecursionError:
        raise SpecError(f"The document is nested more than {MAX_DEPTH} levels deep.") from None


_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _normalise(raw: object, text: str) -> dict[str, Any]:
    """A copy with string keys and JSON values only, within the depth and node limits."""
    count = 0

    def walk(value: object, depth: int, path: tuple[str | int, ...]) -> object:
        nonlocal count
        count += 1
        if count > MAX_NODES:
            raise SpecError(
                f"The document has more than {MAX_NODES:,} values (YAML aliases count each "
                "time they are used)."
            )
        if depth > MAX_DEPTH:
            raise _located(f"The document is nested more than {MAX_DEPTH} levels deep.", text, path)
        if isinstance(value, dict):
            return {str(k): walk(v, depth + 1, (*path, str(k))) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, depth + 1, (*path, i)) for i, v in enumerate(value)]
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, float) and value != value:  # NaN has no JSON form
            raise _located("A number is not a number (NaN).", text, path)
        if value is None or isinstance(value, str | int | float | bool):
            return value
        if isinstance(value, bytes):
            raise _located("Binary YAML values are not accepted.", text, path)
        return str(value)

    return walk(raw, 0, ())  # type: ignore[return-value]


# --------------------------------------------------------------------------- references


def resolve_pointer(data: object, ref: str) -> object:
    """The value a local reference ("#/components/schemas/Pet") points at; KeyError if none."""
    if ref == "#":
        return data
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node = data
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        part = _unquote(part)
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(ref)
    return node


def _unquote(part: str) -> str:
    if "%" not in part:
        return part
    from urllib.parse import unquote

    return unquote(part)


def _refs(data: object, *, keyword: str = "$ref") -> Iterator[tuple[str, tuple]]:
    stack: list[tuple[object, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            ref = node.get(keyword)
            if ref is not None:
                yield ref, (*where, keyword)
            for key, value in node.items():
                if key != keyword and isinstance(value, dict | list):
                    stack.append((value, (*where, key)))
        elif isinstance(node, list):
            stack.extend((value, (*where, i)) for i, value in enumerate(node))


def _check_references(data: dict[str, Any], text: str) -> None:
    for keyword in _OTHER_REFERENCES:
        for ref, where in _refs(data, keyword=keyword):
            if not isinstance(ref, str) or not ref.startswith("#"):
                raise _located(
                    f"The `{keyword}` {_shown(ref)} points outside this document: only "
                    "references within the document are accepted.",
                    text,
                    where,
                )
    targets: set[str] = set()
    for ref, where in _refs(data):
        if not isinstance(ref, str):
            raise _located("A `$ref` must be a string.", text, where)
        if not ref.startswith("#"):
            raise _located(
                f"The reference {_shown(ref)} points outside this document: only references "
                'within the document ("#/components/...") are accepted; bundle the document '
                "into one file first.",
                text,
                where,
            )
        try:
            resolve_pointer(data, ref)
        except KeyError:
            raise _located(
                f"The reference {_shown(ref)} points at nothing in this document.", text, where
            ) from None
        targets.add(ref)
    # A cycle that never ends: following references (and subschemas that apply to the same
    # value) leads back to where it started.
    state: dict[str, int] = {}  # 1: being followed, 2: done

    def follow(ref: str, chain: list[str]) -> None:
        if state.get(ref) == 2:
            return
        if state.get(ref) == 1:
            cycle = [*chain[chain.index(ref) :], ref]
            raise _located(
                "The references form a cycle that never ends: " + " → ".join(cycle) + ".",
                text,
                _pointer_path(ref),
            )
        state[ref] = 1
        for nxt in _same_instance_refs(resolve_pointer(data, ref)):
            follow(nxt, [*chain, ref])
        state[ref] = 2

    for ref in sorted(targets):
        follow(ref, [])


def _same_instance_refs(node: object) -> Iterator[str]:
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str):
        yield ref
    for key in _SAME_INSTANCE:
        members = node.get(key)
        if isinstance(members, list):
            for member in members:
                yield from _same_instance_refs(member)
    for key in _SAME_INSTANCE_ONE:
        if isinstance(node.get(key), dict):
            yield from _same_instance_refs(node[key])


def _pointer_path(ref: str) -> tuple[str, ...]:
    if not ref.startswith("#/"):
        return ()
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/"))


# ------------------------------------------------------------------------ OpenAPI rules


def _check_openapi_rules(data: dict[str, Any], version: str, text: str) -> None:
    from jsonschema_path import SchemaPath
    from openapi_spec_validator.validation import (
        OpenAPIV30SpecValidator,
        OpenAPIV31SpecValidator,
    )

    cls = OpenAPIV31SpecValidator if version.startswith("3.1") else OpenAPIV30SpecValidator
    try:
        error = next(iter(cls(SchemaPath.from_dict(data)).iter_errors()), None)
    except RecursionError:
        raise SpecError(f"The document is nested more than {MAX_DEPTH} levels deep.") from None
    except Exception as failure:  # the validator could not follow something in it
        reason = " ".join(str(failure).split())[:200] or type(failure).__name__
        raise SpecError(
            f"The document could not be checked as OpenAPI {version}: {reason}"
        ) from None
    if error is None:
        return
    message = str(getattr(error, "message", "") or error).strip().splitlines()[0]
    # "{...the whole object...} is not valid under any of the given schemas": name it instead.
    found = re.fullmatch(r"(\{.*\}|\[.*\]) ((is|does|has|should) .*)", message)
    if found and len(found.group(1)) > 60:
        message = f"this value {found.group(2)}"
    path = tuple(getattr(error, "absolute_path", ()) or ())
    raise _located(f"Not valid OpenAPI {version}: {message}", text, path)


# ------------------------------------------------------------------------------- places


def where(path: tuple[str | int, ...] | list[str | int]) -> str:
    """A place for people: ("paths", "/pets", "get", "parameters", 0) becomes
    paths./pets.get.parameters[0]."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _located(message: str, text: str, path: tuple[str | int, ...]) -> SpecError:
    line, column = line_of(text, path)
    return SpecError(message, line=line, column=column, where=where(path))


def line_of(text: str, path: tuple[str | int, ...]) -> tuple[int | None, int | None]:
    """The line and column where the value at ``path`` starts in the text, if they can be
    found (JSON is read as YAML for this; a text neither can compose gives (None, None))."""
    if not path:
        return None, None
    try:
        node = yaml.compose(text, Loader=_Loader)
    except (yaml.YAMLError, RecursionError, ValueError):
        return None, None
    last = node
    for part in path:
        found = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    found = value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            found = node.value[part] if 0 <= part < len(node.value) else None
        if found is None:
            break
        node = last = found
    if last is None:
        return None, None
    return last.start_mark.line + 1, last.start_mark.column + 1
