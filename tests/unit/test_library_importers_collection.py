"""What every collection importer gives and the limits they all check
(apps.library.importers.collection)."""

from typing import Any

import pytest

from apps.library.importers.collection import (
    MAX_FILE_BYTES,
    MAX_REQUESTS,
    ImportedRequest,
    ImportFailed,
    check_count,
    check_size,
    is_api_key_header,
)
from apps.library.importers.har import parse_har
from apps.library.importers.native import parse_native
from apps.library.importers.postman import parse_postman


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("X-Api-Key", True),
        ("x-api-key", True),
        ("X-API-KEY", True),
        ("Authorization", False),
        ("X-Api-Key-Id", False),
    ],
)
def test_it_knows_the_api_key_header_in_any_case(name: str, expected: bool) -> None:
    assert is_api_key_header(name) is expected


def test_it_takes_a_file_up_to_the_limit() -> None:
    check_size(b"x" * MAX_FILE_BYTES, what="HAR file")


def test_it_counts_the_bytes_of_text_not_its_characters() -> None:
    text = "é" * (MAX_FILE_BYTES // 2 + 1)  # two bytes each in UTF-8
    with pytest.raises(ImportFailed) as caught:
        check_size(text, what="Postman collection")
    assert str(caught.value) == "The Postman collection is 5.0 MB; up to 5 MB can be imported."


def test_it_refuses_a_file_without_requests() -> None:
    with pytest.raises(ImportFailed) as caught:
        check_count([], what="HAR file")
    assert str(caught.value) == "The HAR file holds no request to import."


def test_it_takes_up_to_so_many_requests_and_no_more() -> None:
    requests = [
        ImportedRequest(name=f"r{n}", method="GET", url="https://h/") for n in range(MAX_REQUESTS)
    ]
    check_count(requests, what="file")
    requests.append(ImportedRequest(name="one more", method="GET", url="https://h/"))
    with pytest.raises(ImportFailed) as caught:
        check_count(requests, what="file")
    assert str(caught.value) == (
        f"The file holds {MAX_REQUESTS + 1} requests; up to {MAX_REQUESTS} can be imported at once."
    )


@pytest.mark.parametrize("parse", [parse_har, parse_native, parse_postman])
def test_a_file_nested_deeper_than_json_reads_is_refused_with_a_message(parse: Any) -> None:
    """Was a RecursionError (a 500 on the import pages)."""
    deep = '{"log": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(ImportFailed, match="nested too deeply"):
        parse(deep)
