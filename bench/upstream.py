"""A fast local HTTP/1.1 upstream with keep-alive, for the benchmarks.

    .venv/bin/python bench/upstream.py [--port 0]

One asyncio process, no framework: each request (any method, any path) is answered with a
small JSON body and its Content-Length, and the connection is kept open unless the client
asks to close it. At once, or, for a path `/sleep/<ms>/...`, after that many milliseconds
(an API's latency, or one that hangs), without holding up the other connections. It prints
`listening on <port>` when ready. A client in another process is what limits the pace
against it (see the raw loop in `bench/pipeline.py`).
"""

import argparse
import asyncio
import json

BODY = json.dumps({"result": "success", "data": [{"price": "61234.10"}]}).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)
CLOSING = RESPONSE.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
MAX_HEAD = 64 * 1024


class Upstream(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = bytearray()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    self.transport.close()
                return
            head = bytes(self.buffer[:end]).lower()
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip() == b"content-length":
                    length = int(value.strip() or 0)
            if len(self.buffer) < end + 4 + length:
                return  # the body is still coming
            del self.buffer[: end + 4 + length]
            closing = b"connection: close" in head
            delay = _delay_seconds(head)
            if delay:
                asyncio.get_running_loop().call_later(delay, self._answer, closing)
            else:
                self._answer(closing)
            if closing:
                return

    def _answer(self, closing: bool) -> None:
        if self.transport.is_closing():
            return  # the client gave up
        self.transport.write(CLOSING if closing else RESPONSE)
        if closing:
            self.transport.close()


def _delay_seconds(head: bytes) -> float:
    """The delay a `/sleep/<ms>/` path asks for, in seconds (0 for any other path)."""
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    if len(parts) < 2 or not parts[1].startswith(b"/sleep/"):
        return 0.0
    milliseconds = parts[1].split(b"/")[2]
    return int(milliseconds) / 1000 if milliseconds.isdigit() else 0.0


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Upstream, "127.0.0.1", port, backlog=1024)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
