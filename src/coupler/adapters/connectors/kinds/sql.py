"""The ``sql`` kind: a database SQLAlchemy reaches (SQLite, PostgreSQL ...), whose tables are read as they are."""

from __future__ import annotations

from typing import Literal, Self

from coupler.adapters.connectors.kinds.kind import ConnectorKind, ConnectorSettings
from coupler.adapters.connectors.sql.connector import SqlConnector
from coupler.adapters.engines import create_sql_engine
from coupler.adapters.settings import Place
from coupler.ports.connector import Connector

__all__ = ["SQL", "SqlSettings", "connect_sql"]


class SqlSettings(ConnectorSettings):
    """``url``: a database URL; a password in it is written as a ``${VAR}`` reference, a relative SQLite path is
    relative to coupler.toml's folder (and the SQLite file must exist)."""

    kind: Literal["sql"] = "sql"
    url: str

    def resolved(self, place: Place) -> Self:
        return self.model_copy(update={"url": place.database_url(self.url, key="url", must_exist=True)})


def connect_sql(settings: SqlSettings) -> Connector:
    return SqlConnector(create_sql_engine(settings.url), display_name=settings.name)


SQL = ConnectorKind(name="sql", settings=SqlSettings, connect=connect_sql)
