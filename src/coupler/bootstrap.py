"""The composition root: the one place that turns a configuration into connected, concrete objects."""

from __future__ import annotations

from pathlib import Path

from coupler.adapters.connectors.kinds import ConnectorSettings, connector_kind
from coupler.adapters.store.kept_metadata import StoredMetadata
from coupler.adapters.store.sql.store import open_state_store
from coupler.adapters.transform_plugins import resolve_mappings
from coupler.config import AppConfig, load_config
from coupler.config.edit import enabled_in
from coupler.domain.errors import ConfigurationError, CouplerError
from coupler.ports.connector import Connector
from coupler.ports.metadata import KeepsMetadata
from coupler.ports.store import StateStore
from coupler.ports.telemetry import Telemetry
from coupler.services.api import Coupler
from coupler.services.context import Progress, Systems
from coupler.services.views.check import schema_problems

__all__ = ["build", "open_coupler"]


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
        batch_size=config.batch_size,
        overlap_ms=config.overlap_ms,
        progress=progress or Progress(),
        enabled=lambda: enabled_in(config.path, otherwise=config.enabled),
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


def _connector(system: ConnectorSettings) -> Connector:
    """The connector of the system's kind (a built-in one or one registered by entry point), built from its settings."""
    return connector_kind(system.kind).build(system)


def _keep_metadata(connector: Connector, system: ConnectorSettings, store: StateStore) -> None:
    """A connector that keeps what it learns about its system's schema keeps it in the state store, under the
    system's connection, so that the next process does not ask again."""
    connection = system.connection()
    if connection and isinstance(connector, KeepsMetadata):
        connector.metadata = StoredMetadata(store.metadata, connection)
