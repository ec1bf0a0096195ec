"""Kept connections: used again only for the same pinned address, never for a POST, and a
kept connection the server closed meanwhile is replaced without failing the request."""

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
import urllib3.connectionpool

from apps.egress import client
from apps.egress.client import send
from apps.egress.policy import AddressPolicy
from apps.egress.types import OutboundRequest
from tests.support.servers import Seen, Served, serving

LOOPBACK = AddressPolicy.from_allowlist(["127.0.0.1", "::1", "localhost"])


class KeepAliveHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    close_after_answer = False

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append(Seen(self.command, self.path, dict(self.headers), b""))  # type: ignore[attr-defined]
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if self.close_after_answer:  # a keep-alive timeout, without saying so
            self.close_connection = True

    do_GET = do_POST = _answer


class ClosingHandler(KeepAliveHandler):
    close_after_answer = True


@pytest.fixture(autouse=True)
def no_kept_connections() -> Iterator[None]:
    client.POOLS.clear()
    yield
    client.POOLS.clear()


@pytest.fixture
def keep_alive() -> Iterator[Served]:
    with serving(handler=KeepAliveHandler) as served:
        yield served


def ok(exchange: object) -> bool:
    response = exchange.response  # type: ignore[attr-defined]
    return response is not None and response.status == 200 and response.body == b'{"ok": true}'


def test_it_sends_the_next_get_to_the_same_address_over_the_kept_connection(
    keep_alive: Served,
) -> None:
    for path in ("/a", "/b", "/c"):
        assert ok(send(OutboundRequest(method="GET", url=keep_alive.base + path), policy=LOOPBACK))
    assert keep_alive.connections == 1
    assert [seen.path for seen in keep_alive.seen] == ["/a", "/b", "/c"]


def test_it_gives_a_post_a_connection_of_its_own(keep_alive: Served) -> None:
    for _ in range(2):
        request = OutboundRequest(method="POST", url=f"{keep_alive.base}/p", body=b"{}")
        assert ok(send(request, policy=LOOPBACK))
    assert keep_alive.connections == 2


def test_it_never_uses_a_connection_kept_for_another_host_name(keep_alive: Served) -> None:
    def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    by_address = OutboundRequest(method="GET", url=f"{keep_alive.base}/a")
    by_name = OutboundRequest(method="GET", url=f"http://localhost:{keep_alive.port}/b")
    assert ok(send(by_address, policy=LOOPBACK, resolver=resolver))
    assert ok(send(by_name, policy=LOOPBACK, resolver=resolver))
    assert keep_alive.connections == 2


def test_it_checks_the_policy_again_before_using_a_kept_connection(keep_alive: Served) -> None:
    assert ok(send(OutboundRequest(method="GET", url=f"{keep_alive.base}/a"), policy=LOOPBACK))
    again = OutboundRequest(method="GET", url=f"{keep_alive.base}/b")
    refused = send(again, policy=AddressPolicy())
    assert refused.failure is not None and refused.response is None
    assert [seen.path for seen in keep_alive.seen] == ["/a"]


def test_it_sends_again_on_a_new_connection_when_the_kept_one_was_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The pool's own check would notice the close; without it the request meets the closed
    # socket, as when the server closes it just as the request goes out.
    monkeypatch.setattr(urllib3.connectionpool, "is_connection_dropped", lambda conn: False)
    with serving(handler=ClosingHandler) as served:
        first = send(OutboundRequest(method="GET", url=f"{served.base}/a"), policy=LOOPBACK)
        second = send(OutboundRequest(method="GET", url=f"{served.base}/b"), policy=LOOPBACK)
        assert ok(first) and ok(second), second.failure
        assert [seen.path for seen in served.seen] == ["/a", "/b"]
        assert served.connections == 2
