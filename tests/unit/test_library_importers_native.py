"""apps/library/importers/native.py: the dashboard's own collection format read back."""

import json

import pytest

from apps.library.importers.collection import ImportFailed
from apps.library.importers.native import parse_native


def test_the_own_format_is_read_and_checked() -> None:
    data = {
        "format": "apidiag.collection",
        "version": 1,
        "name": "Kept",
        "variables": [{"name": "host", "value": "a.example.com"}],
        "requests": [
            {"name": "One", "method": "get", "url": "https://{{host}}/x", "folder": "F",
             "params": [["a", "1"]], "headers": [["Accept", "*/*"]], "timeout": 3}
        ],
    }  # fmt: skip
    collection = parse_native(json.dumps(data))
    (request,) = collection.requests
    assert (request.method, request.params, request.timeout, request.folder) == (
        "GET", [("a", "1")], 3.0, "F"
    )  # fmt: skip
    data["requests"][0]["headers"] = [["only-a-name"]]  # type: ignore[index]
    with pytest.raises(ImportFailed, match=r"`requests\[0\]\.headers` is not a list"):
        parse_native(json.dumps(data))
    with pytest.raises(ImportFailed, match="version 1 is read"):
        parse_native(json.dumps({**data, "version": 2}))
