"""`coupler serve`'s web app in this process (lifespan on, so that its webhook receiver starts), on a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from coupler.entrypoints.web.app import create_app

__all__ = ["free_port", "serving", "wait"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait(check: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@contextmanager
def serving(config: Path, port: int) -> Iterator[FastAPI]:
    """The web app of ``config`` on ``port`` until the block ends; yields the app (``app.state.hooks``)."""
    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", log_config=None, lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait(lambda: server.started, 60)
    try:
        yield app
    finally:
        server.should_exit = True
        thread.join(timeout=30)
