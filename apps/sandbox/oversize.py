"""Oversize answers, for the dashboard's body caps: generated lazily, never held whole.

Every body is a stream of a few small buffers built once, repeated: a 1 GiB answer costs
the server no more memory than a 1 KiB one, and stops costing anything as soon as the
client hangs up. Each size is exact and sent as ``Content-Length``.

- ``large_body(mib)``: N MiB of plain JSON (a Kaiko envelope whose ``data`` goes on and on).
- ``gzip_bomb(mib)``: gzip that decodes to N MiB of JSON (spaces inside a tiny document)
  from about 1 KiB per MiB; a client that caps what it decodes cuts it there.
- ``gzip_padding(mib)``: about N MiB of gzip that decodes to a few bytes (empty deflate
  blocks): the compressed bytes themselves are what is too large.
- ``layered(layers)``: a small JSON body gzipped ``layers`` times over, with the
  ``Content-Encoding`` that says so (``gzip, gzip, gzip``).
"""

import functools
import gzip
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

MIB = 1024 * 1024
MAX_MIB = 1024
DEFAULT_LARGE_MIB = 8
DEFAULT_BOMB_MIB = 1024
DEFAULT_PADDING_MIB = 8
DEFAULT_LAYERS = 3
MAX_LAYERS = 10
CHUNK = 64 * 1024  # roughly what each yield sends

_ENVELOPE_START = b'{"result": "success", "data": ['
_RECORD = (
    b'{"timestamp": 1717243200000, "trade_id": "sandbox-large", "price": "61234.10", '
    b'"amount": "0.01000000", "taker_side_sell": false}'
)
_ENVELOPE_END = b"]}\n"
# A Kaiko-like document with N MiB of JSON whitespace before its closing brace.
_BOMB_START = b'{"result": "success", "data": [], "note": "a gzip bomb from the sandbox"'
_BOMB_END = b"}\n"
_SPACES = b" " * MIB
# A non-final, empty stored deflate block, once the stream is byte-aligned (RFC 1951 3.2.4).
_EMPTY_STORED_BLOCK = b"\x00\x00\x00\xff\xff"


@dataclass(frozen=True)
class Body:
    chunks: Iterator[bytes]
    length: int  # bytes on the wire: the Content-Length


def _repeated(piece: bytes, count: int) -> Iterator[bytes]:
    """`piece` `count` times, in yields of about CHUNK bytes built once."""
    per_yield = max(1, CHUNK // len(piece))
    group = piece * per_yield
    whole, rest = divmod(count, per_yield)
    for _ in range(whole):
        yield group
    if rest:
        yield piece * rest


def large_body(mib: int) -> Body:
    """Exactly `mib` MiB of valid JSON: records, then spaces to the size, then the end."""
    total = mib * MIB
    item = b", " + _RECORD
    fixed = len(_ENVELOPE_START) + len(_RECORD) + len(_ENVELOPE_END)
    count, spaces = divmod(total - fixed, len(item))

    def chunks() -> Iterator[bytes]:
        yield _ENVELOPE_START + _RECORD
        yield from _repeated(item, count)
        yield b" " * spaces + _ENVELOPE_END

    return Body(chunks(), total)


@functools.cache
def _bomb_parts() -> tuple[bytes, bytes, bytes]:
    """(start, one MiB of spaces, end) as gzip pieces that can be put one after the other.

    After a full flush the compressor starts afresh (no history), so compressing the same
    MiB again gives the same bytes: the middle of the stream is one block, repeated.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    start = compressor.compress(_BOMB_START) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(_SPACES) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.compress(_BOMB_END) + compressor.flush()
    return start, block, end[:-8]  # the trailer depends on the size: see gzip_bomb


def gzip_bomb(mib: int) -> Body:
    """gzip of a JSON document with `mib` MiB of spaces in it, about 1 KiB a MiB."""
    start, block, end = _bomb_parts()
    size = len(_BOMB_START) + mib * MIB + len(_BOMB_END)

    def chunks() -> Iterator[bytes]:
        yield start
        crc = zlib.crc32(_BOMB_START)
        # The CRC of the spaces is worked out as they are sent: only a client that reads
        # the whole stream costs the server that time.
        for piece in _repeated(block, mib):
            for _ in range(len(piece) // len(block)):
                crc = zlib.crc32(_SPACES, crc)
            yield piece
        crc = zlib.crc32(_BOMB_END, crc)
        yield end + struct.pack("<II", crc, size & 0xFFFFFFFF)

    return Body(chunks(), len(start) + mib * len(block) + len(end) + 8)


@functools.cache
def _padding_parts() -> tuple[bytes, bytes]:
    """(start, end) of a gzip stream of a tiny document, split where empty blocks may go."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    start = compressor.compress(b'{"result": "success", "data": [')
    start += compressor.flush(zlib.Z_SYNC_FLUSH)  # byte-aligned from here
    end = compressor.compress(b"]}\n") + compressor.flush()
    return start, end


def gzip_padding(mib: int) -> Body:
    """About `mib` MiB of gzip (at most that) decoding to ``{"result": "success", ...}``."""
    start, end = _padding_parts()
    count = (mib * MIB - len(start) - len(end)) // len(_EMPTY_STORED_BLOCK)

    def chunks() -> Iterator[bytes]:
        yield start
        yield from _repeated(_EMPTY_STORED_BLOCK, count)
        yield end

    return Body(chunks(), len(start) + count * len(_EMPTY_STORED_BLOCK) + len(end))


def layered(layers: int, document: bytes) -> tuple[bytes, str]:
    """`document` gzipped `layers` times, and the Content-Encoding that says so."""
    body = document
    for _ in range(layers):
        body = gzip.compress(body, compresslevel=6, mtime=0)
    return body, ", ".join(["gzip"] * layers)
