"""The sandbox's oversize bodies: exact sizes, valid encodings, built lazily from small
pieces, and what the egress decoder makes of them with the dashboard's default caps."""

import gzip
import itertools
import json
import zlib

import pytest

from apps.egress.client import Limits
from apps.egress.decoding import BoundedDecoder, CompressedTooLarge
from apps.sandbox import oversize
from apps.sandbox.oversize import MIB


@pytest.mark.parametrize("mib", [1, 2, 3])
def test_it_makes_a_large_body_of_exactly_n_mib_of_json(mib: int) -> None:
    body = oversize.large_body(mib)
    data = b"".join(body.chunks)
    assert len(data) == body.length == mib * MIB
    document = json.loads(data)
    assert document["result"] == "success"
    assert document["data"][0]["trade_id"] == "sandbox-large"


@pytest.mark.parametrize(
    "make",
    [oversize.large_body, oversize.gzip_bomb, oversize.gzip_padding],
    ids=["large", "bomb", "padding"],
)
def test_it_never_builds_a_big_body_at_once(make: object) -> None:
    body = make(oversize.MAX_MIB)  # type: ignore[operator]
    first = list(itertools.islice(body.chunks, 200))
    assert max(len(chunk) for chunk in first) <= 2 * oversize.CHUNK
    # The repeated pieces are one object, not copies.
    assert len({id(chunk) for chunk in first[1:-1]}) <= 2


@pytest.mark.parametrize("mib", [1, 3])
def test_it_makes_a_gzip_bomb_that_decodes_to_n_mib(mib: int) -> None:
    body = oversize.gzip_bomb(mib)
    data = b"".join(body.chunks)
    assert len(data) == body.length
    decoded = gzip.decompress(data)  # checks the CRC and the size in the trailer
    assert len(decoded) > mib * MIB
    assert json.loads(decoded)["result"] == "success"


def test_a_gigabyte_bomb_is_about_a_megabyte() -> None:
    assert oversize.gzip_bomb(1024).length < 1.1 * MIB


@pytest.mark.parametrize("mib", [1, 3, 8])
def test_it_makes_gzip_padding_of_about_n_mib_that_decodes_to_little(mib: int) -> None:
    body = oversize.gzip_padding(mib)
    data = b"".join(body.chunks)
    assert len(data) == body.length
    assert mib * MIB - 8 <= body.length <= mib * MIB
    assert json.loads(gzip.decompress(data)) == {"result": "success", "data": []}


@pytest.mark.parametrize("layers", [1, 3, 10])
def test_it_gzips_as_many_times_as_asked(layers: int) -> None:
    body, encoding = oversize.layered(layers, b'{"result": "success"}')
    assert encoding == ", ".join(["gzip"] * layers)
    for _ in range(layers):
        body = gzip.decompress(body)
    assert body == b'{"result": "success"}'


# --- what the dashboard's decoder makes of them (the default limits) ------------------------


def decode(chunks: object, limits: Limits) -> bytes:
    decoder = BoundedDecoder(["gzip"], max_compressed_bytes=limits.compressed_cap)
    kept = b""
    for chunk in chunks:  # type: ignore[attr-defined]
        decoder.feed(chunk)
        while piece := decoder.pull(limits.max_body_bytes + 1 - len(kept)):
            kept += piece
            if len(kept) > limits.max_body_bytes:
                return kept[: limits.max_body_bytes]
    return kept


def test_the_bomb_is_cut_once_decoded_not_refused() -> None:
    kept = decode(oversize.gzip_bomb(oversize.DEFAULT_BOMB_MIB).chunks, Limits())
    assert len(kept) == Limits().max_body_bytes
    assert kept.startswith(b'{"result": "success"')


def test_the_padding_is_refused_as_compressed_body() -> None:
    with pytest.raises(CompressedTooLarge):
        decode(oversize.gzip_padding(oversize.DEFAULT_PADDING_MIB).chunks, Limits())


def test_the_padding_under_the_compressed_cap_decodes() -> None:
    assert decode(oversize.gzip_padding(2).chunks, Limits()).startswith(b'{"result"')


def test_the_bomb_parts_can_be_repeated() -> None:
    start, block, _end = oversize._bomb_parts()
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(start + block + block)
    assert out.endswith(b" " * (2 * MIB))
