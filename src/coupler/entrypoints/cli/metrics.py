"""Prometheus metrics served by a long-running command (`coupler run --every`, `coupler worker`) on a port of its
own: ``http://HOST:PORT/metrics``, the same families `coupler serve` shows at ``/metrics``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from coupler.domain.errors import CouplerError, UsageError
from coupler.entrypoints.cli.shell import err

if TYPE_CHECKING:
    from coupler.adapters.metrics import Metrics
    from coupler.config import AppConfig
    from coupler.services.context import Systems

__all__ = ["MetricsHost", "MetricsPort", "open_metrics", "queue_gauges", "start_metrics_server"]

MetricsPort = Annotated[
    int | None,
    typer.Option("--metrics-port", min=1, max=65535, help="Serve Prometheus metrics on this port (/metrics)."),
]
MetricsHost = Annotated[str, typer.Option("--metrics-host", help="The address the metrics are served on.")]


def start_metrics_server(metrics: Metrics, host: str, port: int) -> Callable[[], None]:
    """Serve ``metrics`` on ``http://host:port/metrics`` in a thread; the function that stops serving them.
    UsageError when the port cannot be bound (taken, or an address of another machine)."""
    from prometheus_client import start_http_server

    try:
        server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    except OSError as error:
        raise UsageError(f"cannot serve the metrics on {host}:{port}: {error.strerror or error}") from None
    err.print(f"Metrics on http://{'[' + host + ']' if ':' in host else host}:{port}/metrics")

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


def queue_gauges(config: AppConfig) -> tuple[str | None, list[str]]:
    """The job queue's database (libpq's connection string) and connection names for ``Metrics``' queue gauges when
    ``config`` has a ``[queue]``; (None, []) otherwise."""
    if config.queue is None:
        return None, []
    from coupler.adapters.queue.connection import conninfo

    try:
        return conninfo(config.state_url), [config.queue.connection]
    except CouplerError:  # not a PostgreSQL state store: opening the state store says so
        return None, []


def open_metrics(
    config: AppConfig, host: str, port: int, source: Callable[[], Systems | None]
) -> tuple[Metrics, Callable[[], None]]:
    """``config``'s metrics served on ``http://host:port/metrics`` (the state store's gauges read from the Systems
    ``source`` gives, the queue's when ``[queue]`` is configured), and the function that stops serving them."""
    from coupler.adapters.metrics import Metrics

    queue, connections = queue_gauges(config)
    metrics = Metrics(source, queue=queue, connections=connections)
    try:
        stop = start_metrics_server(metrics, host, port)
    except UsageError:
        metrics.close()
        raise

    def close() -> None:
        stop()
        metrics.close()

    return metrics, close
