"""A requests transport adapter that connects to one checked address and reads guardedly.

Pinning: the adapter owns a single urllib3 pool whose host is the IP address the policy
checked, so nothing is resolved again at connect time (a DNS answer that changes between
check and connect cannot move the connection). What the server sees is unchanged: the
client sets the `Host` header to the name in the URL, and for https the pool's
`server_hostname` is that name, so SNI is sent for it and OpenSSL verifies the
certificate against it (urllib3 leaves `check_hostname` on when only `server_hostname` is
given). Extra trusted CA certificates (`ca_cert_data`, PEM) are loaded into the same
context as the CA bundle requests passes: trusted alongside it.

Reuse: the pools are kept per process and thread (`PinnedPools`), keyed by everything the
connection was made and checked for (scheme, checked address, port, host name, trusted
certificates): a kept connection is only ever used again for the same pinned address and
TLS settings, after the policy has checked that address again for the new request. Each
pool holds one connection; a response read to its end gives the connection back, any
other outcome closes it.

Guarding: the socket's file is wrapped so that every read first sets the socket timeout to
what is left of the exchange's deadline, the response head (status line and headers) is
read a buffer at a time and cut at its byte and line caps, and the bytes of the body as
they come off the wire (chunk framing and trailers included) are capped too.

Timing: the guard carries a `PhaseClock` that the connection marks as it goes (connect
started, TCP connected, TLS done, request written, first byte read) and that counts the
bytes written; the client turns the marks into `Timings`.
"""

import hashlib
import http.client
import io
import os
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from apps.egress.certificates import facts_of
from apps.egress.types import FailureKind, Timings, TlsFacts

READ_BYTES = 64 * 1024


class ResponseCut(Exception):
    """Reading stopped at a limit. Not an OSError, so urllib3 and requests let it through."""

    def __init__(self, kind: FailureKind, detail: str, message: str = "") -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.message = message  # for people; "" lets the client word it


@dataclass
class PhaseClock:
    """Marks (time.monotonic() values) of one request as it goes; None: not reached yet."""

    started: float
    dns_start: float | None = None
    dns_end: float | None = None
    connect_start: float | None = None
    tcp_end: float | None = None
    tls_end: float | None = None
    request_start: float | None = None
    send_end: float | None = None
    first_byte: float | None = None
    end: float | None = None
    reused: bool = False
    address: str = ""  # the pinned address being tried
    remote: tuple[str, int] | None = None  # the peer of the connection, once connected
    local_port: int = 0
    tls: TlsFacts | None = None
    bytes_sent: int = 0

    def timings(self, *, end: float, https: bool, failed: bool) -> Timings:
        """The phases from the marks, up to `end`. A phase started and not finished is the
        one a failure struck in (`failed`); the phases after it did not happen."""
        send_start = self.request_start
        if not self.reused and self.request_start is not None:
            connected = self.tls_end if https else self.tcp_end
            if connected is not None:
                send_start = max(self.request_start, connected)
        spans: list[tuple[str, float | None, float | None]] = [
            ("send", send_start, self.send_end),
            ("wait", self.send_end, self.first_byte),
            # A failure after the first byte struck while the rest was being read.
            ("receive", self.first_byte, None if failed else end),
        ]
        if not self.reused:
            connect = [("connect", self.connect_start, self.tcp_end)]
            if https:
                connect.append(("tls", self.tcp_end, self.tls_end))
            spans = [("dns", self.dns_start, self.dns_end), *connect, *spans]
            if self.dns_start is None:  # an IP address: nothing to resolve
                spans = spans[1:]
        phases: dict[str, float | None] = {}
        failed_in = ""
        for name, start, stop in spans:
            if start is None or failed_in:
                break
            if stop is None:
                stop, failed_in = end, name
            phases[name] = round(max(0.0, stop - start) * 1000, 3)
        if not failed:
            failed_in = ""
        total = round(max(0.0, end - self.started) * 1000, 3)
        blocked = round(max(0.0, total - sum(v for v in phases.values() if v is not None)), 3)
        return Timings(
            total=total, blocked=blocked, **phases, reused=self.reused, failed_in=failed_in
        )

    def new_connection(self) -> None:
        """A (new) try on a connection: what an earlier try marked no longer counts."""
        self.connect_start = self.tcp_end = self.tls_end = None
        self.request_start = self.send_end = self.first_byte = None
        self.reused = False
        self.remote = None
        self.local_port = 0
        self.tls = None
        self.bytes_sent = 0


@dataclass
class ReadGuard:
    """Limits for reading one response, and what has been read so far."""

    deadline: float  # time.monotonic() value after which nothing more is read
    max_head_bytes: int
    max_head_lines: int
    max_body_wire_bytes: int
    in_head: bool = True
    head_bytes: int = 0
    head_lines: int = 0
    body_wire_bytes: int = 0
    clock: PhaseClock = field(default_factory=lambda: PhaseClock(started=time.monotonic()))

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def before_read(self, sock: socket.socket) -> None:
        remaining = self.remaining()
        if remaining <= 0:
            raise self.deadline_cut()
        sock.settimeout(remaining)

    def deadline_cut(self) -> ResponseCut:
        # Nothing of the response yet means the server never answered; otherwise it was
        # still sending (its head or its body) when time ran out.
        detail = "no_answer" if self.in_head and self.head_bytes == 0 else "deadline"
        return ResponseCut(FailureKind.READ_TIMEOUT, detail)

    def count(self, data: bytes) -> None:
        if data and self.clock.first_byte is None:
            self.clock.first_byte = time.monotonic()
        if self.in_head:
            self.head_bytes += len(data)
            if self.head_bytes > self.max_head_bytes:
                raise ResponseCut(FailureKind.RESPONSE_TOO_LARGE, "headers")
        else:
            self.body_wire_bytes += len(data)
            if self.body_wire_bytes > self.max_body_wire_bytes:
                raise ResponseCut(FailureKind.RESPONSE_TOO_LARGE, "body_framing")

    def count_line(self, line: bytes) -> None:
        if self.in_head and line not in (b"\r\n", b"\n"):  # a blank line ends the head
            self.head_lines += 1
            # The status line is not a header.
            if self.head_lines > self.max_head_lines + 1:
                raise ResponseCut(FailureKind.RESPONSE_TOO_LARGE, "headers")


class _GuardedFile(io.RawIOBase):
    """The socket file http.client reads from, with the guard applied to every read."""

    def __init__(self, fp: io.BufferedReader, sock: socket.socket, guard: ReadGuard) -> None:
        super().__init__()
        self._fp = fp
        self._sock = sock
        self._guard = guard

    def _blocking(self, call: Any, *args: Any) -> Any:
        self._guard.before_read(self._sock)
        try:
            return call(*args)
        except TimeoutError:
            if self._guard.remaining() <= 0.01:
                raise self._guard.deadline_cut() from None
            raise

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        size = READ_BYTES if size is None or size < 0 else min(size, READ_BYTES)
        data: bytes = self._blocking(self._fp.read1, size)
        self._guard.count(data)
        return data

    def read(self, size: int | None = -1) -> bytes:
        parts: list[bytes] = []
        got = 0
        while size is None or size < 0 or got < size:
            data = self.read1(-1 if size is None or size < 0 else size - got)
            if not data:
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        got = 0
        while got < len(view):
            data = self.read1(len(view) - got)
            if not data:
                break
            view[got : got + len(data)] = data
            got += len(data)
        return got

    def readline(self, size: int | None = -1) -> bytes:
        limit = -1 if size is None else size
        parts: list[bytes] = []
        got = 0
        while limit < 0 or got < limit:
            peeked: bytes = self._blocking(self._fp.peek, 1)
            if not peeked:
                break
            want = len(peeked) if limit < 0 else min(len(peeked), limit - got)
            newline = peeked.find(b"\n", 0, want)
            data = self._fp.read(newline + 1 if newline >= 0 else want)  # already buffered
            self._guard.count(data)
            parts.append(data)
            got += len(data)
            if newline >= 0:
                break
        line = b"".join(parts)
        if line:
            self._guard.count_line(line)
        return line

    def peek(self, size: int = 0) -> bytes:
        return self._blocking(self._fp.peek, size)

    def close(self) -> None:
        self._fp.close()
        super().close()

    def fileno(self) -> int:
        return self._fp.fileno()


class _GuardedHTTPResponse(http.client.HTTPResponse):
    def __init__(
        self,
        sock: socket.socket,
        debuglevel: int = 0,
        method: str | None = None,
        url: str | None = None,
        *,
        guard: ReadGuard,
    ) -> None:
        super().__init__(sock, debuglevel, method, url)
        guard.in_head = True
        self._guard = guard
        self.fp = _GuardedFile(self.fp, sock, guard)  # type: ignore[assignment]

    def begin(self) -> None:
        super().begin()
        self._guard.in_head = False


class _GuardedConnectionMixin:
    """A connection whose responses are read under the guard of the request in flight, and
    that marks the guard's clock: connect, TLS, request written, bytes written."""

    guard: ReadGuard | None = None
    response_class: Any  # http.client's is a class; any callable that makes a response will do
    # What the connection was made over, kept for the requests that reuse it.
    remote: tuple[str, int] | None = None
    local_port: int = 0
    tls_facts: TlsFacts | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.response_class = self._guarded_response

    def _clock(self) -> PhaseClock | None:
        return self.guard.clock if self.guard is not None else None

    def connect(self) -> None:
        clock = self._clock()
        if clock is not None:
            clock.connect_start = time.monotonic()
            clock.tcp_end = clock.tls_end = None
        super().connect()  # type: ignore[misc]
        connected = time.monotonic()  # before reading the facts, which is not the handshake
        sock = self.sock  # type: ignore[attr-defined]
        try:
            peer = sock.getpeername()
            self.remote = (str(peer[0]), int(peer[1]))
            self.local_port = int(sock.getsockname()[1])
        except (OSError, IndexError):
            self.remote, self.local_port = None, 0
        self.tls_facts = None
        if isinstance(sock, ssl.SSLSocket):
            self.tls_facts = facts_of(sock, verified=True, now=datetime.now(UTC))
        if clock is not None:
            clock.tls_end = connected if self.tls_facts is not None else None
            clock.remote, clock.tls = self.remote, self.tls_facts
            clock.local_port = self.local_port

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        clock = self._clock()
        if clock is not None:
            clock.tcp_end = time.monotonic()
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        clock = self._clock()
        if clock is not None:
            clock.request_start = time.monotonic()
        super().request(*args, **kwargs)  # type: ignore[misc]
        if clock is not None:
            clock.send_end = time.monotonic()

    def send(self, data: Any) -> None:
        clock = self._clock()
        if clock is not None and isinstance(data, bytes | bytearray | memoryview):
            clock.bytes_sent += len(data)
        super().send(data)  # type: ignore[misc]

    def _guarded_response(self, sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
        if self.guard is None:
            raise RuntimeError("a pinned connection was used without a read guard")
        return _GuardedHTTPResponse(sock, *args, guard=self.guard, **kwargs)


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _PinnedPoolMixin:
    """Hands its connection out with the guard of the request in flight, and notes whether
    that connection was already open (kept from an earlier request)."""

    guard: ReadGuard | None = None
    reused: bool = False

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        conn.guard = self.guard
        self.reused = getattr(conn, "sock", None) is not None
        if self.reused and self.guard is not None:
            clock = self.guard.clock
            clock.reused = True
            clock.remote, clock.tls = conn.remote, conn.tls_facts
            clock.local_port = conn.local_port
        return conn


class _PinnedHTTPPool(_PinnedPoolMixin, HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _PinnedHTTPSPool(_PinnedPoolMixin, HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class PinKey(NamedTuple):
    """What a kept connection was made for; it is used again only for the very same."""

    scheme: str
    address: str
    port: int
    hostname: str
    ca_bundle: str
    extra_ca_digest: str


def new_pool(key: PinKey, ca_cert_data: str | None = None) -> HTTPConnectionPool:
    """A one-connection pool to the pinned address of `key` (see the module's docstring)."""
    if key.scheme == "https":
        extra: dict[str, Any] = {"ca_cert_data": ca_cert_data} if ca_cert_data else {}
        return _PinnedHTTPSPool(
            host=key.address,
            port=key.port,
            maxsize=1,
            retries=0,
            server_hostname=key.hostname,
            **extra,
        )
    return _PinnedHTTPPool(host=key.address, port=key.port, maxsize=1, retries=0)


class PinnedPools:
    """The pools kept by this process, per thread: at most `size` each, least recently used
    closed first. A child process made by fork starts with none of its parent's."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._local = threading.local()

    def _pools(self) -> "OrderedDict[PinKey, HTTPConnectionPool]":
        pools = getattr(self._local, "pools", None)
        if pools is None or getattr(self._local, "pid", None) != os.getpid():
            pools = self._local.pools = OrderedDict()
            self._local.pid = os.getpid()
        return pools

    @staticmethod
    def key(
        *, scheme: str, address: str, port: int, hostname: str, ca_bundle: str,
        ca_cert_data: str | None,
    ) -> PinKey:  # fmt: skip
        digest = hashlib.sha256(ca_cert_data.encode()).hexdigest() if ca_cert_data else ""
        return PinKey(scheme, address, port, hostname.lower(), ca_bundle, digest)

    def get(self, key: PinKey, ca_cert_data: str | None = None) -> HTTPConnectionPool:
        pools = self._pools()
        pool = pools.get(key)
        if pool is None:
            pool = pools[key] = new_pool(key, ca_cert_data)
            while len(pools) > self.size:
                pools.popitem(last=False)[1].close()
        pools.move_to_end(key)
        return pool

    def clear(self) -> None:
        pools = self._pools()
        while pools:
            pools.popitem()[1].close()


class PinnedAdapter(HTTPAdapter):
    """Sends every request to `address`, whatever the URL's host resolves to.

    `hostname` is the name from the URL: for https it is the SNI name and the name the
    certificate must be valid for. The request must carry its own `Host` header.
    `ca_cert_data`: PEM certificates trusted on top of the bundle given as `verify`.
    `pool`: a kept pool made for exactly these (see `PinnedPools`), left open by `close`;
    without one, the adapter makes its own and closes it.
    """

    def __init__(
        self,
        *,
        scheme: str,
        address: str,
        port: int,
        hostname: str,
        guard: ReadGuard,
        ca_cert_data: str | None = None,
        ca_bundle: str = "",
        pool: HTTPConnectionPool | None = None,
    ) -> None:
        super().__init__(max_retries=0, pool_connections=1, pool_maxsize=1)
        self.kept = pool is not None
        if pool is None:
            key = PinnedPools.key(
                scheme=scheme, address=address, port=port, hostname=hostname,
                ca_bundle=ca_bundle, ca_cert_data=ca_cert_data,
            )  # fmt: skip
            pool = new_pool(key, ca_cert_data)
        pool.guard = guard  # type: ignore[attr-defined]
        self.pool: HTTPConnectionPool = pool

    @property
    def reused(self) -> bool:
        """The last request went over a connection kept from an earlier one."""
        return bool(getattr(self.pool, "reused", False))

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: bool | str | None,
        proxies: Mapping[str, str] | None = None,
        cert: Any = None,
    ) -> HTTPConnectionPool:
        return self.pool

    def close(self) -> None:
        if not self.kept:
            self.pool.close()
        super().close()
