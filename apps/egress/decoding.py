"""Content-Encoding decoding that never holds more than it is asked for.

Each layer is a zlib stream pulled with `max_length`, so a decompression bomb yields its
output a chunk at a time and the caller stops at its cap; a layer's input that does not
fit a pull stays in zlib's `unconsumed_tail` (never larger than the chunk that was fed).
The bytes entering every layer are counted: compressed data that goes on and on without
producing output (empty gzip members, layer upon layer) is stopped at the compressed cap.
"""

import zlib
from collections.abc import Callable

DECODABLE = frozenset({"gzip", "x-gzip", "deflate"})
PULL_BYTES = 64 * 1024


class DecodingFailed(Exception):
    """The body is not valid data in the encoding its Content-Encoding names."""


class CompressedTooLarge(Exception):
    """More compressed bytes entered a layer than the compressed-body cap allows."""


def content_codings(values: list[str]) -> list[str]:
    """The codings named by the Content-Encoding header(s), in the order they were applied."""
    codings = [part.strip().lower() for value in values for part in value.split(",")]
    return [coding for coding in codings if coding and coding != "identity"]


class _Layer:
    """One gzip or deflate stream (gzip may be several members, one after the other)."""

    def __init__(self, coding: str) -> None:
        self._gzip = coding in ("gzip", "x-gzip")
        self._obj: zlib._Decompress | None = (
            zlib.decompressobj(16 + zlib.MAX_WBITS) if self._gzip else None
        )
        self._pending = b""  # input not yet given to zlib
        self._members = 0
        self.finished = False  # past the end of the (last) stream: more input is ignored

    def _start(self) -> bool:
        """Create the deflate decompressor once its first two bytes tell zlib from raw."""
        if self._obj is not None:
            return True
        if len(self._pending) < 2:
            return False
        first, second = self._pending[0], self._pending[1]
        is_zlib = first & 0x0F == 8 and (first * 256 + second) % 31 == 0
        self._obj = zlib.decompressobj(zlib.MAX_WBITS if is_zlib else -zlib.MAX_WBITS)
        return True

    def has_pending(self) -> bool:
        return bool(self._pending) and not self.finished

    def feed(self, data: bytes) -> None:
        if not self.finished:
            self._pending += data

    def pull(self, max_length: int) -> bytes:
        """Up to `max_length` decoded bytes from what was fed so far."""
        if self.finished or not self._start():
            return b""
        assert self._obj is not None
        output = b""
        while self._pending and len(output) < max_length and not self.finished:
            data, self._pending = self._pending, b""
            try:
                output += self._obj.decompress(data, max_length - len(output))
            except zlib.error as exc:
                if self._gzip and self._members > 0:
                    self.finished = True  # trailing garbage after a member: ignored
                    break
                raise DecodingFailed(str(exc)) from None
            self._pending = self._obj.unconsumed_tail
            if self._obj.eof:
                self._members += 1
                rest = self._obj.unused_data
                if self._gzip and rest:
                    self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    self._pending = rest + self._pending
                else:
                    self.finished = True
        return output


class BoundedDecoder:
    """Decodes stacked content codings; `pull` returns at most what it is asked for.

    `codings` are in the order the server applied them, as Content-Encoding lists them.
    """

    def __init__(
        self,
        codings: list[str],
        *,
        max_compressed_bytes: int,
        check: Callable[[], None] = lambda: None,
    ) -> None:
        # Decode in reverse order of application: the last coding applied comes off first.
        self._layers = [_Layer(coding) for coding in reversed(codings)]
        self._fed = [0] * len(self._layers)  # compressed bytes that entered each layer
        self._cap = max_compressed_bytes
        self._check = check  # called between steps; may raise (the deadline)

    def feed(self, data: bytes) -> None:
        """Raw body bytes, as they came off the connection."""
        self._give(0, data)

    def _give(self, index: int, data: bytes) -> None:
        self._fed[index] += len(data)
        if self._fed[index] > self._cap:
            raise CompressedTooLarge
        self._layers[index].feed(data)

    def pull(self, max_length: int) -> bytes:
        """Up to `max_length` fully decoded bytes; b"" when all that was fed is used up."""
        return self._pull(len(self._layers) - 1, max_length)

    def _pull(self, index: int, max_length: int) -> bytes:
        layer = self._layers[index]
        while True:
            self._check()
            output = layer.pull(max_length)
            if output or layer.finished or index == 0:
                return output
            # This layer needs more input: pull some from the layer before it.
            upstream = self._pull(index - 1, PULL_BYTES)
            if not upstream:
                return b""
            self._give(index, upstream)


def decode_body(body: bytes, content_type: str | None) -> str:
    """The body as text, in its declared charset, else UTF-8; undecodable bytes replaced."""
    charset = "utf-8"
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip("\"' ")
    try:
        return body.decode(charset, errors="replace").replace("\x00", "\ufffd")
    except LookupError:
        return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
