"""Run an ASGI app with uvicorn in a background thread on a free 127.0.0.1 port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send

from coupler.testing.tls import TlsFiles

__all__ = ["ServedUrl", "serve"]


class ServedUrl(str):
    """The base URL of a running server (a ``str``), which also counts the HTTP requests it has served."""

    _counter: list[int]
    tls: TlsFiles | None

    @property
    def requests_served(self) -> int:
        return self._counter[0]

    def reset_count(self) -> None:
        self._counter[0] = 0


@contextmanager
def serve(
    app: Callable[[Scope, Receive, Send], Awaitable[None]], *, tls: TlsFiles | None = None, port: int = 0
) -> Iterator[ServedUrl]:
    """Serve ``app`` until the block ends; yields its base URL (``http://127.0.0.1:PORT`` or https with ``tls``)."""
    counter = [0]
    lock = threading.Lock()

    async def counting(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            with lock:
                counter[0] += 1
        await app(scope, receive, send)

    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets whose proto says TCP, and
    # with it on, every answer's body waited some 40 ms for the client's delayed ACK of its headers
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    options: dict[str, Any] = {}
    if tls is not None:
        options = {"ssl_certfile": str(tls.cert_file), "ssl_keyfile": str(tls.key_file)}
    config = uvicorn.Config(
        counting, log_level="warning", http="h11", lifespan="off", access_log=False, timeout_keep_alive=30, **options
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="coupler-testing")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    scheme = "https" if tls is not None else "http"
    url = ServedUrl(f"{scheme}://127.0.0.1:{sock.getsockname()[1]}")
    url._counter = counter
    url.tls = tls
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
