"""The app factory: the pages, the JSON API under /api, the static files, security, and one Coupler per app.

A burst of requests queues instead of multiplying memory: the app works on ``working`` requests at once, in order
of arrival, and holds at most ``max_requests`` (see ``limits``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles

from coupler.adapters.metrics import Metrics
from coupler.domain.errors import CouplerError
from coupler.entrypoints.web import health, hooks
from coupler.entrypoints.web.api import routes as api
from coupler.entrypoints.web.deps import WebState, verify_csrf
from coupler.entrypoints.web.errors import install_error_handlers
from coupler.entrypoints.web.limits import MAX_REQUESTS, WORKING, RequestLimit
from coupler.entrypoints.web.pages import routes as pages
from coupler.entrypoints.web.security import Guard, install_security

__all__ = ["STATIC_DIR", "create_app"]

STATIC_DIR = Path(__file__).with_name("static")


def create_app(
    config: Path | None = None,
    *,
    token: str | None = None,
    host: str = "127.0.0.1",
    working: int = WORKING,
    max_requests: int = MAX_REQUESTS,
) -> FastAPI:
    """The web app for the configuration at ``config`` (default: as the CLI finds it), bound to ``host``.

    Beyond loopback a ``token`` is required (UsageError otherwise). The systems are opened at startup; when they
    cannot be reached the app starts anyway and ``WebState.connection()`` says what is wrong. At most ``working``
    requests are worked on at once and ``max_requests`` held (working or waiting); more are answered 503.
    """
    guard = Guard(host=host, token=token)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metrics = Metrics(lambda: state.opened(), **_queue_database(config))
        state = WebState(Path(config) if config else None, telemetry=metrics.telemetry)
        app.state.metrics, app.state.readiness = metrics, health.Readiness(state)
        await run_in_threadpool(state.start)
        app.state.web = state
        app.state.hooks = await run_in_threadpool(hooks.receiver_for, state)  # [hooks]: the systems' notifications
        try:
            yield
        finally:
            if app.state.hooks is not None:
                await run_in_threadpool(app.state.hooks.close)
            await run_in_threadpool(state.close)
            app.state.readiness.close()
            metrics.close()

    app = FastAPI(
        title="coupler",
        summary="Couple and synchronize records between an ERP and a CRM.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app, getattr(pages, "render_error", None))
    install_security(app, guard)
    app.add_middleware(
        RequestLimit, working=working, most=max_requests
    )  # added last: the outermost, before any other work
    csrf = [Depends(verify_csrf)]
    app.include_router(api.router, prefix="/api", dependencies=csrf)
    app.include_router(pages.router, dependencies=csrf)
    app.include_router(health.router)  # /healthz, /readyz, /metrics
    app.include_router(hooks.router)  # /hooks/local, /hooks/integration: no CSRF, authenticated by their secret
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    return app


def _queue_database(config: Path | str | None) -> dict[str, Any]:
    """``Metrics``' arguments for the job queue when the configuration has a ``[queue]`` (its gauges then go on
    ``/metrics``): its database and connection. Nothing without a queue, or when the file cannot be read (the pages
    then say why)."""
    from coupler.config import load_config

    try:
        settings = load_config(Path(config) if config else None)
        if settings.queue is None:
            return {}
        from coupler.adapters.queue.connection import conninfo

        return {"queue": conninfo(settings.state_url), "connections": [settings.queue.connection]}
    except CouplerError:
        return {}
