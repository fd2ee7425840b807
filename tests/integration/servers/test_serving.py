"""serve(): the test servers answer at once. An answer written in two parts (headers, then body) must not wait for
the client's delayed ACK (Nagle's algorithm): that cost every request over HTTP some 40 ms on Linux."""

from __future__ import annotations

import statistics
import time

import httpx
from starlette.types import Receive, Scope, Send

from coupler.testing import serve


async def _small_answer(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
    await send({"type": "http.response.body", "body": b"x" * 1000})


def test_a_small_answer_arrives_without_waiting_for_a_delayed_ack() -> None:
    with serve(_small_answer) as url, httpx.Client() as client:
        client.get(url)
        times = []
        for _ in range(9):
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            times.append(time.perf_counter() - started)
    assert statistics.median(times) < 0.02, [round(t * 1000, 1) for t in times]
