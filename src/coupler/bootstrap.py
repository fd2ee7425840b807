"""The composition root: the one place that turns a configuration into connected, concrete objects."""

from __future__ import annotations

from pathlib import Path

from coupler.adapters.connectors.sql.connector import SqlConnector
from coupler.adapters.engines import create_sql_engine
from coupler.adapters.store.sql.store import open_state_store
from coupler.adapters.transform_plugins import resolve_mappings
from coupler.config import AppConfig, SystemConfig, load_config
from coupler.domain.errors import ConfigurationError, CouplerError
from coupler.ports.connector import Connector
from coupler.services.api import Coupler
from coupler.services.context import Progress, Systems
from coupler.services.views.check import schema_problems

__all__ = ["build", "open_coupler"]


def open_coupler(
    config: Path | str | None = None, *, progress: Progress | None = None, validate: bool = True
) -> Coupler:
    """Load the configuration, connect both systems and the state store, and check the mapped columns exist.

    Raises ConfigurationError (one message per problem) when the file or the mapped tables and columns are wrong.
    """
    return build(load_config(Path(config) if config else None), progress=progress, validate=validate)


def build(config: AppConfig, *, progress: Progress | None = None, validate: bool = True) -> Coupler:
    mappings = resolve_mappings(config.mappings)  # user transforms registered by entry point
    local = _connector(config.local)
    integration = _connector(config.integration)
    try:
        store = open_state_store(config.state_url)
    except CouplerError:
        local.close()
        integration.close()
        raise
    systems = Systems(
        local=local,
        integration=integration,
        store=store,
        mappings=mappings,
        batch_size=config.batch_size,
        overlap_ms=config.overlap_ms,
        progress=progress or Progress(),
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


def _connector(system: SystemConfig) -> Connector:
    if system.kind == "sql":
        return SqlConnector(create_sql_engine(system.url), display_name=system.name)
    if system.kind in ("dataverse", "business-central"):
        return _http_connector(system)
    raise ConfigurationError(f"unknown connector kind {system.kind!r}")


def _http_connector(system: SystemConfig) -> Connector:
    """A Dataverse or Business Central connector with its pooled client, sign-in and pacer."""
    from coupler.adapters.connectors import business_central, dataverse, http_client

    dv = system.kind == "dataverse"
    auth: http_client.Auth
    if system.username and system.password and not system.client_id:
        auth = http_client.BasicAuth(system.username, system.password)
    else:
        org = system.url.split("/api/", 1)[0]
        auth = http_client.MsalAuth(
            system=system.name,
            tenant_id=system.tenant_id or "",
            client_id=system.client_id or "",
            client_secret=system.client_secret or "",
            scope=f"{org}/.default" if dv else "https://api.businesscentral.dynamics.com/.default",
            authority=system.authority or "https://login.microsoftonline.com",
            verify=system.verify,
        )
    base = system.url + dataverse.API_PATH if dv and "/api/data/" not in system.url else system.url
    client = http_client.HttpClient(
        base,
        system=system.name,
        auth=auth,
        headers=dataverse.HEADERS if dv else business_central.HEADERS,
        verify=system.verify,
        pacer=http_client.Pacer(concurrency=52 if dv else 5),
    )
    sizes = {k: v for k, v in (("page_size", system.page_size), ("batch_size", system.batch_size)) if v}
    if dv:
        return dataverse.DataverseConnector(client, display_name=system.name, **sizes)
    return business_central.BusinessCentralConnector(
        client, company=system.company or "", display_name=system.name, **sizes
    )
