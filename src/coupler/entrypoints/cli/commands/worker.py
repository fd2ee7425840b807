"""`coupler worker` runs the jobs of the job queue; `coupler queue` shows the schedules and the jobs waiting.

Both need ``[queue]`` in coupler.toml (and a PostgreSQL state store, where the queue lives). A worker serves every
connection whose file it is given (``--config`` again for each); any number of workers, on any number of machines,
share the queue. SIGINT or SIGTERM stops a worker once its jobs in hand are done; a worker killed outright has its
job taken over by another after ``takeover_after``.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from coupler.domain.errors import ConfigurationError, CouplerError, UsageError
from coupler.domain.timeutil import format_iso
from coupler.entrypoints.cli.metrics import MetricsHost, MetricsPort
from coupler.entrypoints.cli.shell import ConfigOption, JsonOption, app, emit, err, fail, out

if TYPE_CHECKING:
    from coupler.adapters.metrics import Metrics
    from coupler.config import AppConfig
    from coupler.services.context import Systems

__all__ = ["defer_round"]


def _configs(paths: list[Path] | None, as_json: bool) -> list[AppConfig]:
    from coupler.config import load_config

    try:
        configs = [load_config(path) for path in paths] if paths else [load_config(None)]
        for config in configs:
            if config.queue is None:
                raise ConfigurationError(
                    f"{config.path}: no job queue is configured; add a [queue] section (docs/operations.md)."
                )
        names = [c.queue.connection for c in configs if c.queue]
        if len(set(names)) != len(names):
            raise ConfigurationError("two files name the same connection in [queue]; give each its own connection.")
        if len({_database(c.state_url) for c in configs}) > 1:
            raise ConfigurationError("the files given use different state stores; one worker serves one queue.")
    except (ConfigurationError, UsageError) as error:
        fail(error, 2, as_json)
    return configs


def _database(url: str) -> str:
    from coupler.adapters.queue.connection import conninfo

    return conninfo(url)


@app.command("worker")
def worker_command(
    config: Annotated[
        list[Path] | None,
        typer.Option("--config", "-c", help="A connection's configuration file; repeat to serve several."),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="Jobs run at once (default 1).")] = 1,
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = "127.0.0.1",
) -> None:
    """Run the jobs of the job queue (and its schedules) until stopped; start as many workers as you need."""
    from coupler.adapters.logs import configure_logging, secrets_in
    from coupler.adapters.queue.connection import conninfo, ensure_schema, queue_app
    from coupler.adapters.queue.tasks import register
    from coupler.bootstrap import served

    configs = _configs(config, False)
    secrets = [s for c in configs for s in secrets_in(c.local, c.integration, urls=[c.state_url])]
    secrets += [c.hooks.secret.get_secret_value() for c in configs if c.hooks is not None]  # the webhooks' secret
    configure_logging(secrets=secrets)  # JSON lines unless on a terminal, with the job, mapping and connection
    try:
        ensure_schema(configs[0].state_url)
        queue = queue_app(configs[0].state_url)
        metrics = _serve_metrics(configs, conninfo(configs[0].state_url), metrics_host, metrics_port)
        telemetry = metrics.telemetry if metrics is not None else None
        register(queue, {c.queue.connection: served(c, telemetry=telemetry) for c in configs if c.queue})
    except CouplerError as error:
        fail(error, 1, False)
    takeover = min(c.queue.takeover_after for c in configs if c.queue).total_seconds()
    names = ", ".join(c.queue.connection for c in configs if c.queue)
    err.print(f"Worker {socket.gethostname()}:{os.getpid()} serving {names}; Ctrl-C stops it after its jobs in hand.")
    queue.run_worker(
        name=f"{socket.gethostname()}:{os.getpid()}",
        concurrency=concurrency,
        update_heartbeat_interval=max(0.5, takeover / 4),
        stalled_worker_timeout=takeover,
        fetch_job_polling_interval=min(5.0, max(0.5, takeover / 4)),
    )
    err.print("Worker stopped.")


def _serve_metrics(configs: list[AppConfig], queue: str, host: str, port: int | None) -> Metrics | None:
    """With a port, the worker's metrics on ``http://host:port/metrics``: the jobs it runs (every connection's), the
    state store's gauges (the first connection's mappings) and the queue's depth and waiting time."""
    if port is None:
        return None
    from coupler.adapters.metrics import Metrics
    from coupler.bootstrap import build
    from coupler.entrypoints.cli.metrics import start_metrics_server

    opened: list[Systems] = []

    def systems() -> Systems:
        if not opened:
            opened.append(build(configs[0], validate=False).systems)
        return opened[0]

    metrics = Metrics(systems, queue=queue, connections=[c.queue.connection for c in configs if c.queue])
    start_metrics_server(metrics, host, port)  # serves until the worker ends
    return metrics


def defer_round(config: Path | None, mappings: list[str] | None, as_json: bool) -> None:
    """`coupler run --queue`: a round of incremental jobs deferred to the queue in dependency order."""
    from coupler.bootstrap import build, open_queue
    from coupler.config import load_config

    try:
        loaded = load_config(config)
        with open_queue(loaded) as queue:  # the queue first: PostgreSQL not answering is said as the queue's
            with build(loaded, validate=False) as coupler:
                order = [m.name for m in coupler.systems.in_dependency_order(mappings or None)]
            job = queue.round(order)
    except (ConfigurationError, UsageError) as error:
        fail(error, 2, as_json)
    except CouplerError as error:
        fail(error, 1, as_json)
    emit(
        as_json,
        {"job": job, "mappings": order},
        lambda: out.print(f"Queued job {job}: an incremental round of {', '.join(order)}; `coupler queue` shows it."),
    )


@app.command("queue")
def queue_command(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """The mappings' schedules (interval, back-off, next run) and the jobs in the queue."""
    from coupler.bootstrap import build, open_queue
    from coupler.services.views.schedules import schedules

    loaded = _configs([config] if config else None, as_json)[0]
    settings = loaded.queue
    assert settings is not None
    try:
        with open_queue(loaded) as queue, build(loaded, validate=False) as coupler:
            states = schedules(coupler.systems, settings.schedule)
            jobs, workers = queue.jobs(limit=20), queue.workers()
    except CouplerError as error:
        fail(error, 1, as_json)
    data: dict[str, Any] = {
        "connection": settings.connection,
        "workers": workers,
        "schedules": [
            {
                "mapping": s.mapping,
                "every": int(s.state.schedule.every.total_seconds()),
                "interval": int(s.state.interval.total_seconds()),
                "idle_runs": s.state.idle_runs,
                "idle": s.state.idle,
                "enabled": s.state.schedule.enabled,
                "last_run": s.state.last_run,
                "next_run": s.state.next_run if s.state.last_run else None,
            }
            for s in states
        ],
        "jobs": [
            {
                "id": j.id,
                "work": j.work.removeprefix("coupler."),
                "mapping": j.mapping,
                "status": j.status,
                "attempts": j.attempts,
            }
            for j in jobs
        ],
    }
    emit(as_json, data, lambda: _show(data))


def _when(value: datetime | None) -> str:
    return format_iso(value) if value is not None else "-"


def _show(data: dict[str, Any]) -> None:
    out.print(f"Connection {data['connection']}: {data['workers']} worker(s) answering.")
    table = Table("Mapping", "Every", "Idle runs", "Last run", "Next run")
    for row in data["schedules"]:
        every = f"{row['interval'] // 60}m" if row["interval"] >= 60 else f"{row['interval']}s"
        if not row["enabled"]:
            every = "not scheduled"
        elif row["idle"]:
            every += " (idle: backed off)"
        next_run = _when(row["next_run"]) if row["last_run"] else "due now"
        table.add_row(row["mapping"], every, str(row["idle_runs"]), _when(row["last_run"]), next_run)
    out.print(table)
    jobs = Table("Job", "Work", "Mapping", "Status", "Attempts")
    for job in data["jobs"]:
        jobs.add_row(str(job["id"]), job["work"], job["mapping"] or "", job["status"], str(job["attempts"]))
    out.print(jobs)
