"""What the HTTP client tells observers (the Prometheus metrics) of its requests: each one sent, with its status,
and each wait a 429 imposed. Observers are process-wide, as the connection pools are; they must be quick and never
raise. The client logs each request too, at DEBUG: method, path (never the query, which may carry data) and status;
never a header, so never a token."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

__all__ = ["HttpObserver", "observe_http", "request_done", "throttled"]

log = logging.getLogger("coupler.http")


class HttpObserver(Protocol):
    def request_done(self, system: str, method: str, status: int | None, seconds: float) -> None:
        """A request to ``system`` (its configured name) was answered with ``status`` (None: no answer: a timeout
        or a dropped connection) after ``seconds``."""

    def throttled(self, system: str, seconds: float) -> None:
        """``system`` answered 429: every request to it waits ``seconds`` (its Retry-After)."""


_observers: tuple[HttpObserver, ...] = ()
_lock = threading.Lock()


def observe_http(observer: HttpObserver) -> Callable[[], None]:
    """Tell ``observer`` of every request from now on; call the function returned to stop."""
    global _observers
    with _lock:
        _observers = (*_observers, observer)

    def stop() -> None:
        global _observers
        with _lock:
            _observers = tuple(o for o in _observers if o is not observer)

    return stop


def request_done(system: str, method: str, path: str, status: int | None, seconds: float) -> None:
    log.debug("%s %s %s -> %s in %.3f s", system, method, path, status if status is not None else "no answer", seconds)
    for observer in _observers:
        observer.request_done(system, method, status, seconds)


def throttled(system: str, seconds: float) -> None:
    log.warning("%s is throttling requests (429): every request waits %.1f s", system, seconds)
    for observer in _observers:
        observer.throttled(system, seconds)
