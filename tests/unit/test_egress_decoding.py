"""apps/egress/decoding.py: content codings as the server applied them, decoded within the
caps a chunk at a time, and a body as text in its declared charset."""

import gzip
import zlib

import pytest

from apps.egress.decoding import (
    BoundedDecoder,
    CompressedTooLarge,
    DecodingFailed,
    content_codings,
    decode_body,
)


def drain(decoder: BoundedDecoder, chunk: int = 1000) -> bytes:
    out = b""
    while piece := decoder.pull(chunk):
        assert len(piece) <= chunk
        out += piece
    return out


@pytest.mark.parametrize(
    ("content_type", "body", "text"),
    [
        ("text/plain; charset=iso-8859-1", "café".encode("latin-1"), "café"),
        ('text/plain; charset="windows-1252"', b"\x93quoted\x94", "\u201cquoted\u201d"),
        ("application/json; Charset=UTF-16", '{"a": 1}'.encode("utf-16"), '{"a": 1}'),
        ("application/json", "naïve".encode(), "naïve"),  # no charset: UTF-8
        (None, "naïve".encode(), "naïve"),
        ("text/plain; charset=no-such-charset", "naïve".encode(), "naïve"),  # unknown: UTF-8
        ("text/plain; charset=", "naïve".encode(), "naïve"),
    ],
)
def test_decode_body_reads_the_declared_charset_else_utf8(
    content_type: str | None, body: bytes, text: str
) -> None:
    assert decode_body(body, content_type) == text


def test_decode_body_replaces_undecodable_bytes_and_nul() -> None:
    assert decode_body(b"ok\xff\xfe!", "text/plain") == "ok\ufffd\ufffd!"
    # NUL cannot be stored in a PostgreSQL text column: it becomes U+FFFD too.
    assert decode_body(b"a\x00b", "text/plain; charset=latin-1") == "a\ufffdb"


def test_content_codings_in_the_order_applied_without_identity() -> None:
    assert content_codings(["gzip"]) == ["gzip"]
    assert content_codings(["deflate, GZIP", " identity", ""]) == ["deflate", "gzip"]
    assert content_codings(["identity"]) == []


def test_stacked_codings_come_off_last_applied_first_a_chunk_at_a_time() -> None:
    data = b"0123456789" * 5000
    body = gzip.compress(zlib.compress(data))  # "Content-Encoding: deflate, gzip"
    decoder = BoundedDecoder(
        ["deflate", "gzip"], max_compressed_bytes=len(zlib.compress(data)) + 10
    )
    decoder.feed(body)
    assert drain(decoder) == data


def test_raw_deflate_and_several_gzip_members_decode() -> None:
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    deflated = raw.compress(b"raw deflate") + raw.flush()
    decoder = BoundedDecoder(["deflate"], max_compressed_bytes=1000)
    decoder.feed(deflated)
    assert drain(decoder) == b"raw deflate"
    members = gzip.compress(b"one,") + gzip.compress(b"two")
    decoder = BoundedDecoder(["gzip"], max_compressed_bytes=1000)
    decoder.feed(members)
    assert drain(decoder) == b"one,two"


def test_compressed_bytes_past_the_cap_stop_the_decoder() -> None:
    body = gzip.compress(b"x" * 10)
    decoder = BoundedDecoder(["gzip"], max_compressed_bytes=len(body) - 1)
    with pytest.raises(CompressedTooLarge):
        decoder.feed(body)


def test_data_that_is_not_in_its_coding_fails() -> None:
    decoder = BoundedDecoder(["gzip"], max_compressed_bytes=1000)
    decoder.feed(b"this is not gzip at all")
    with pytest.raises(DecodingFailed):
        drain(decoder)
