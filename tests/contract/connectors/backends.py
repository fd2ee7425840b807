"""The backends the connector contract runs against, all built from one table definition."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from coupler.adapters.connectors.business_central import HEADERS as BC_HEADERS
from coupler.adapters.connectors.business_central import BusinessCentralConnector
from coupler.adapters.connectors.dataverse import API_PATH, DataverseConnector
from coupler.adapters.connectors.dataverse import HEADERS as DV_HEADERS
from coupler.adapters.connectors.http_client import HttpClient
from coupler.adapters.connectors.memory.connector import Constraint, InMemoryConnector
from coupler.adapters.connectors.odata.query import with_blank
from coupler.adapters.connectors.sql.connector import SqlConnector
from coupler.domain.mapping import Condition, TableSpec
from coupler.domain.timeutil import format_iso
from coupler.ports.connector import ColumnInfo, Connector

TABLE = "customer"
KEY = "no"
MODIFIED_ON = "modified_on"
SPEC = TableSpec(table=TABLE, key=KEY, modified_on=MODIFIED_ON)


@dataclass(frozen=True, kw_only=True)
class ColumnDef:
    name: str
    type: str  # "string" or "integer"
    length: int | None = None
    nullable: bool = True
    minimum: int | None = None  # CHECK (column >= minimum)

    @property
    def check_name(self) -> str:
        return f"ck_{TABLE}_{self.name}"


COLUMNS = (
    ColumnDef(name=KEY, type="string", length=40, nullable=False),
    ColumnDef(name="name", type="string", length=100, nullable=False),
    ColumnDef(name="city", type="string", length=30),
    ColumnDef(name="credit_limit", type="integer", minimum=0),
)
DATA_COLUMNS = tuple(c.name for c in COLUMNS)


class Backend(ABC):
    name: str
    connector: Connector
    system_columns: frozenset[str] = frozenset()  # columns the system adds to every table (Dataverse: modifiedby)
    keeps_deletions = False  # whether the system keeps a deleted-entries feed (``Connector.deletions``)
    keyset = True  # whether a change read resumes after a cursor's key (False: its whole stamp is read again)
    blanks: Mapping[str, Any] = {}
    """Columns that hold no null but a blank value in its place (Business Central: AL fields have no null, a blank
    text is '') -> that blank."""

    def stored(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """``row`` as the system holds it: a blank where it has no null."""
        return {name: self.blanks.get(name) if value is None else value for name, value in row.items()}

    def means(self, condition: Condition) -> Condition:
        """What ``condition`` selects on this system: a null tested is the column's blank, where it has one."""
        return with_blank(condition, self.blanks.get(condition.field))

    @abstractmethod
    def set_modified_on(self, keys: Iterable[str], value: datetime | None) -> None:
        """Overwrite modified-on directly (to make ties, old stamps or NULLs)."""

    def close(self) -> None:
        self.connector.close()


class MemoryBackend(Backend):
    name = "memory"
    keeps_deletions = True

    def __init__(self) -> None:
        self.memory = InMemoryConnector()
        self.memory.add_table(
            TABLE,
            KEY,
            [
                ColumnInfo(
                    name=c.name, type=c.type, nullable=c.nullable, max_length=c.length, primary_key=c.name == KEY
                )
                for c in COLUMNS
            ],
            modified_on=MODIFIED_ON,
            constraints={
                c.name: _constraint(c) for c in COLUMNS if c.name != KEY and (c.minimum is not None or not c.nullable)
            },
        )
        self.connector = self.memory
        self.memory.report_deletions = True

    def set_modified_on(self, keys: Iterable[str], value: datetime | None) -> None:
        self.memory.set_modified_on(TABLE, keys, value)


def _constraint(column: ColumnDef) -> Constraint:
    def check(value: Any) -> str | None:
        if value is None:
            return None if column.nullable else f"column {column.name!r} cannot be empty"
        if column.minimum is not None and value < column.minimum:
            return f"{column.name} must be at least {column.minimum} (check constraint {column.check_name!r})"
        return None

    return check


class SqlBackend(Backend):
    """SQLite with a TEXT ISO 8601 modified-on kept by AFTER triggers (like the demo ERP), or PostgreSQL with a
    timestamptz kept by a BEFORE trigger."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.name = engine.dialect.name
        self.text_stamps = self.name == "sqlite"
        metadata = sa.MetaData()
        table = sa.Table(
            TABLE,
            metadata,
            *(
                sa.Column(
                    c.name,
                    sa.String(c.length) if c.type == "string" else sa.Integer(),
                    primary_key=c.name == KEY,
                    nullable=c.nullable,
                )
                for c in COLUMNS
            ),
            sa.Column(MODIFIED_ON, sa.Text() if self.text_stamps else sa.DateTime(timezone=True)),
            *(
                sa.CheckConstraint(f"{c.name} >= {c.minimum}", name=c.check_name)
                for c in COLUMNS
                if c.minimum is not None
            ),
        )
        sa.Index(f"ix_{TABLE}_{MODIFIED_ON}", table.c[MODIFIED_ON], table.c[KEY])
        with engine.begin() as conn:
            metadata.drop_all(conn)
            metadata.create_all(conn)
            for statement in SQLITE_TRIGGERS if self.text_stamps else POSTGRES_TRIGGERS:
                conn.exec_driver_sql(statement)
        self.table = table
        self.connector = SqlConnector(engine, display_name=f"{self.name} test database")

    def set_modified_on(self, keys: Iterable[str], value: datetime | None) -> None:
        stamp = format_iso(value) if value is not None and self.text_stamps else value
        with self.engine.begin() as conn:
            conn.execute(sa.update(self.table).where(self.table.c[KEY].in_(list(keys))).values({MODIFIED_ON: stamp}))


_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER {TABLE}_inserted AFTER INSERT ON {TABLE} FOR EACH ROW WHEN NEW.{MODIFIED_ON} IS NULL
    BEGIN UPDATE {TABLE} SET {MODIFIED_ON} = {_NOW} WHERE {KEY} = NEW.{KEY}; END""",
    f"""CREATE TRIGGER {TABLE}_updated AFTER UPDATE ON {TABLE} FOR EACH ROW
    WHEN NEW.{MODIFIED_ON} IS OLD.{MODIFIED_ON}
    BEGIN UPDATE {TABLE} SET {MODIFIED_ON} = {_NOW} WHERE {KEY} = NEW.{KEY}; END""",
)
POSTGRES_TRIGGERS = (
    f"""CREATE OR REPLACE FUNCTION {TABLE}_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            IF NEW.{MODIFIED_ON} IS NULL THEN NEW.{MODIFIED_ON} := clock_timestamp(); END IF;
        ELSIF NEW.{MODIFIED_ON} IS NOT DISTINCT FROM OLD.{MODIFIED_ON} THEN
            NEW.{MODIFIED_ON} := clock_timestamp();
        END IF;
        RETURN NEW;
    END $$""",
    f"""CREATE TRIGGER {TABLE}_stamp BEFORE INSERT OR UPDATE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_stamp()""",
)


COMPANY_ID = "6f1d0a2e-3c4b-4d5e-8f90-a1b2c3d4e5f6"


class HttpBackend(SqlBackend):
    """The SQLite contract table served by one of coupler.testing's local servers; the connector speaks HTTP to
    it. Modified-on stamps are set in the SQLite file directly, as the SQL backend does."""

    def __init__(self, kind: str, engine: sa.Engine) -> None:
        from contextlib import ExitStack

        from coupler.testing import BcCompany, BcTable, DataverseTable, business_central_app, dataverse_app, serve

        super().__init__(engine)
        self.sql_connector = self.connector
        self.name = kind
        self.keyset = False  # OData filters cannot compare GUID keys in the service's order
        self._stack = ExitStack()
        url = engine.url.render_as_string(hide_password=False)
        if kind == "dataverse":
            app = dataverse_app(url, tables={TABLE: DataverseTable(table=TABLE, key=KEY, modified_on=MODIFIED_ON)})
            base = self._stack.enter_context(serve(app))
            client = HttpClient(str(base) + API_PATH, system="Dataverse test server", headers=DV_HEADERS)
            self.connector = DataverseConnector(client, display_name="Dataverse test server")
            self.system_columns = frozenset({"modifiedby"})
            self.keeps_deletions = True
        else:
            app = business_central_app(
                url,
                companies=[BcCompany(id=COMPANY_ID, name="CRONUS USA, Inc.")],
                tables={TABLE: BcTable(table=TABLE, entity_type=TABLE, key=KEY, modified_on=MODIFIED_ON)},
            )
            base = self._stack.enter_context(serve(app))
            client = HttpClient(
                f"{base}/v2.0/tenant/production/api/v2.0", system="Business Central test server", headers=BC_HEADERS
            )
            self.connector = BusinessCentralConnector(
                client, company="CRONUS USA, Inc.", display_name="Business Central test server"
            )
            self.blanks = {c.name: "" for c in COLUMNS if c.type == "string"}

    def close(self) -> None:
        try:
            self.connector.close()
            self.sql_connector.close()
        finally:
            self._stack.close()
