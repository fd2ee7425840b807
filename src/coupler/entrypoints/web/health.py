"""The probes an orchestrator or a load balancer asks, and the scrape Prometheus asks, outside the pages and the API:

- ``/healthz``: alive. 200 as long as the process serves requests; it looks at nothing else (and waits behind no
  burst of other requests).
- ``/readyz``: ready. 200 when the state store and both systems answer (a ping each, at most every few seconds, in
  parallel, each given a few seconds); else 503. The JSON body names each part and whether it answered, never a
  URL, an error's text or a secret: those go to the log.
- ``/metrics``: Prometheus' text format (see ``adapters/metrics``). It needs the access token when the app has one
  (``Authorization: Bearer``, as the API), the two probes never do.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from coupler.adapters.connectors.kinds import ConnectorSettings, connector_kind
from coupler.adapters.metrics.registry import CONTENT_TYPE, Metrics
from coupler.adapters.store.sql.store import open_state_store
from coupler.config import load_config
from coupler.domain.errors import CouplerError
from coupler.entrypoints.web.deps import WebState

__all__ = ["PROBE_PATHS", "Check", "Readiness", "router"]

log = logging.getLogger(__name__)

PROBE_PATHS = ("/healthz", "/readyz")
"""Served without authentication."""
STATE_STORE = "state store"

Probe = Callable[[], object]


@dataclass(frozen=True, kw_only=True, slots=True)
class Check:
    """One part of coupler and whether it answered; ``problem`` in a few words, safe to show anyone."""

    name: str
    ok: bool
    problem: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "ok": self.ok, **({"problem": self.problem} if self.problem else {})}


class Readiness:
    """Whether the state store and both systems of ``state`` answer: the shared Coupler's, or, while it cannot be
    opened, each part opened on its own from the configuration. Results are kept ``ttl`` seconds; a part that does
    not answer within ``timeout`` seconds is reported so (its ping goes on in the background and is not started
    again while it runs, so a hung system never piles up threads)."""

    def __init__(self, state: WebState, *, timeout: float = 5.0, ttl: float = 5.0) -> None:
        self._state, self.timeout, self.ttl = state, timeout, ttl
        self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="coupler readyz")
        self._running: dict[str, Future[object]] = {}
        self._kept: tuple[float, list[Check]] | None = None
        self._lock = threading.Lock()

    def checks(self) -> list[Check]:
        with self._lock:
            now = time.monotonic()
            if self._kept is not None and now - self._kept[0] < self.ttl:
                return self._kept[1]
            futures = {name: self._start(name, probe) for name, probe in self._probes()}
            wait_for(futures.values(), timeout=self.timeout)
            checks = [self._verdict(name, future) for name, future in futures.items()]
            self._kept = (time.monotonic(), checks)
            return checks

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _start(self, name: str, probe: Probe) -> Future[object]:
        running = self._running.get(name)
        if running is None or running.done():
            running = self._running[name] = self._pool.submit(probe)
        return running

    def _verdict(self, name: str, future: Future[object]) -> Check:
        if not future.done():
            log.warning("readiness: %s does not answer within %.0f s", name, self.timeout)
            return Check(name=name, ok=False, problem=f"no answer within {self.timeout:g} s")
        error = future.exception()
        if error is None:
            return Check(name=name, ok=True)
        reason = error.message if isinstance(error, CouplerError) else f"{type(error).__name__}: {error}"
        log.warning("readiness: %s does not answer: %s", name, reason)
        return Check(name=name, ok=False, problem=getattr(error, "problem", "does not answer"))

    def _probes(self) -> list[tuple[str, Probe]]:
        systems = self._state.opened()
        if systems is not None:
            return [
                (STATE_STORE, lambda: systems.store.jobs.recent(limit=1)),
                (systems.local.display_name, systems.local.ping),
                (systems.integration.display_name, systems.integration.ping),
            ]
        try:
            config = load_config(self._state.config_path)
        except CouplerError as error:
            log.warning("readiness: the configuration cannot be read: %s", error.message)
            return [("configuration", _fails)]
        return [
            (STATE_STORE, lambda: _ping_store(config.state_url)),
            (config.local.name, lambda: _ping_system(config.local)),
            (config.integration.name, lambda: _ping_system(config.integration)),
        ]


class _Unreadable(CouplerError):
    """The configuration cannot be read."""

    problem = "cannot be read"


def _fails() -> None:
    raise _Unreadable()


def _ping_system(settings: ConnectorSettings) -> None:
    connector = connector_kind(settings.kind).build(settings)
    try:
        connector.ping()
    finally:
        connector.close()


def _ping_store(url: str) -> None:
    store = open_state_store(url)
    try:
        store.jobs.recent(limit=1)
    finally:
        store.close()


router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> JSONResponse:
    """Alive: answered on the event loop, without a thread or a look at anything else."""
    return JSONResponse({"status": "alive"}, headers={"Cache-Control": "no-store"})


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    readiness: Readiness = request.app.state.readiness
    checks = readiness.checks()
    ready = all(check.ok for check in checks)
    body = {"status": "ready" if ready else "not ready", "checks": [check.as_json() for check in checks]}
    return JSONResponse(body, status_code=200 if ready else 503, headers={"Cache-Control": "no-store"})


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    text = await run_in_threadpool(registry.scrape)  # the state store's gauges are read now
    return Response(text, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
