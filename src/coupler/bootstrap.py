"""The composition root: the one place that turns a configuration into connected, concrete objects."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from coupler.adapters.connectors.kinds import ConnectorSettings, connector_kind
from coupler.adapters.store.kept_metadata import StoredMetadata
from coupler.adapters.store.sql.store import open_state_store
from coupler.adapters.transform_plugins import resolve_mappings
from coupler.config import AppConfig, load_config
from coupler.domain.errors import ConfigurationError, CouplerError
from coupler.domain.mapping import TableMapping
from coupler.ports.connector import Connector
from coupler.ports.metadata import KeepsMetadata
from coupler.ports.store import StateStore
from coupler.ports.telemetry import Telemetry
from coupler.services.api import Coupler
from coupler.services.context import Progress, Systems
from coupler.services.views.check import schema_problems

if TYPE_CHECKING:
    from coupler.adapters.queue.client import JobQueue
    from coupler.adapters.queue.tasks import Served
    from coupler.config.edit import Check

__all__ = ["build", "open_coupler", "open_queue", "reconfigured", "schema_check", "served"]


def open_coupler(
    config: Path | str | None = None,
    *,
    progress: Progress | None = None,
    validate: bool = True,
    telemetry: Telemetry | None = None,
) -> Coupler:
    """Load the configuration, connect both systems and the state store, and check the mapped columns exist.
    ``telemetry`` is told of every job (metrics).

    Raises ConfigurationError (one message per problem) when the file or the mapped tables and columns are wrong.
    """
    config_file = load_config(Path(config) if config else None)
    return build(config_file, progress=progress, validate=validate, telemetry=telemetry)


def build(
    config: AppConfig, *, progress: Progress | None = None, validate: bool = True, telemetry: Telemetry | None = None
) -> Coupler:
    mappings = resolve_mappings(config.mappings)  # user transforms registered by entry point
    local = _connector(config.local)
    integration = _connector(config.integration)
    try:
        store = open_state_store(config.state_url)
    except CouplerError:
        local.close()
        integration.close()
        raise
    _keep_metadata(local, config.local, store)
    _keep_metadata(integration, config.integration, store)
    systems = Systems(
        local=local,
        integration=integration,
        store=store,
        mappings=mappings,
        batch_size=_page_size(config.batch_size, local, integration),
        overlap_ms=config.overlap_ms,
        progress=progress or Progress(),
        enabled=lambda: _enabled(config),
        telemetry=telemetry or Telemetry(),
        connection=str(config.path),
    )
    app = Coupler(systems, origin=str(config.path))
    if validate:
        try:
            problems = schema_problems(systems, str(config.path))
        except CouplerError:
            app.close()
            raise
        if problems:
            app.close()
            raise ConfigurationError(problems=problems)
    return app


DEFAULT_BATCH = 1000
"""Records per page per request a system sends at once, when ``[sync] batch_size`` is not set."""


def _page_size(batch_size: int | None, *connectors: Connector) -> int:
    """The engine's page: ``[sync] batch_size`` when set; else ``DEFAULT_BATCH`` records per request the connector
    that sends the most at once sends side by side (an HTTP connector: 5), so that its requests go out full and
    together, as few per record as one at a time would send."""
    if batch_size is not None:
        return batch_size
    return DEFAULT_BATCH * max(1, *(c.parallel for c in connectors))


def reconfigured(app: Coupler) -> Coupler:
    """A Coupler over ``app``'s open connections with the mappings and run settings of its configuration file as
    the file is now (after a change to its mappings); ``app`` stays usable by the work that holds it."""
    config = load_config(Path(app.origin))
    systems = replace(
        app.systems,
        mappings=resolve_mappings(config.mappings),
        batch_size=_page_size(config.batch_size, app.systems.local, app.systems.integration),
        overlap_ms=config.overlap_ms,
    )
    return Coupler(systems, origin=app.origin)


def schema_check(app: Coupler) -> Check:
    """The check opening a Coupler makes, for changed mappings before they are written: every mapped table and
    column exists in ``app``'s systems."""

    def check(mappings: tuple[TableMapping, ...]) -> list[str]:
        return schema_problems(replace(app.systems, mappings=resolve_mappings(mappings)), app.origin)

    return check


def _enabled(config: AppConfig) -> bool:
    """The file's ``enabled`` switch as it is now (imported when asked: a read command never asks)."""
    from coupler.config.edit import enabled_in

    return enabled_in(config.path, otherwise=config.enabled)


def _connector(system: ConnectorSettings) -> Connector:
    """The connector of the system's kind (a built-in one or one registered by entry point), built from its settings."""
    return connector_kind(system.kind).build(system)


def _keep_metadata(connector: Connector, system: ConnectorSettings, store: StateStore) -> None:
    """A connector that keeps what it learns about its system's schema keeps it in the state store, under the
    system's connection, so that the next process does not ask again."""
    connection = system.connection()
    if connection and isinstance(connector, KeepsMetadata):
        connector.metadata = StoredMetadata(store.metadata, connection)


@contextmanager
def open_queue(config: AppConfig) -> Iterator[JobQueue]:
    """The job queue of the configuration's connection (``[queue]``), its schema applied on first use."""
    from coupler.adapters.queue.client import JobQueue
    from coupler.adapters.queue.connection import answering, ensure_schema, queue_app

    if config.queue is None:
        raise ConfigurationError(
            f"{config.path}: no job queue is configured; add a [queue] section (with a PostgreSQL state store)."
        )
    ensure_schema(config.state_url)  # QueueUnavailable, in people's words, when PostgreSQL does not answer
    app = queue_app(config.state_url)
    with answering(config.state_url):
        app.open()
    try:
        yield JobQueue(app, connection=config.queue.connection)
    finally:
        app.close()


def served(config: AppConfig, *, telemetry: Telemetry | None = None) -> Served:
    """What a worker needs to run the connection's jobs: a ``Coupler`` per job, whose mapping locks in the state
    store live as long as the queue's ``takeover_after`` (a dead worker's lock expires when its job is taken over)."""
    from coupler.adapters.queue.tasks import Served

    settings = config.queue
    if settings is None:
        raise ConfigurationError(f"{config.path}: no job queue is configured; add a [queue] section.")

    def open_for_a_job(progress: Progress) -> Coupler:
        app = build(config, validate=False, progress=progress, telemetry=telemetry)
        return Coupler(replace(app.systems, lock_ttl=settings.takeover_after), origin=app.origin)

    hooks = config.hooks
    if hooks is None:
        return Served(open=open_for_a_job, settings=settings)

    def maintain_hooks() -> object:
        from coupler.services.subscriptions import maintain

        with build(config, validate=False, telemetry=telemetry) as app:
            return maintain(
                app.systems,
                lambda side: hooks.route(side.value),
                hooks.secret.get_secret_value(),
                now=app.systems.clock(),
                renew_before=hooks.renew_before,
            )

    return Served(open=open_for_a_job, settings=settings, maintain_hooks=maintain_hooks, hooks_every=hooks.check_every)
