"""Two systems and coupler's state for the property tests: in-memory fakes or SQLite files, one logical clock for
everything, and a fuse that kills coupler at its N-th write.

A "process" is one ``Coupler`` over guarded views of the systems and the store. ``restart`` starts a new process over
the same data (the same fakes, or new engines on the same files), as a restarted ``coupler`` would.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import sqlalchemy as sa

from coupler.adapters.connectors.memory.connector import InMemoryConnector
from coupler.adapters.connectors.sql.connector import SqlConnector
from coupler.adapters.engines import create_sql_engine
from coupler.adapters.store.memory.store import InMemoryStateStore
from coupler.adapters.store.sql.store import open_state_store
from coupler.domain.mapping import (
    ConflictPolicy,
    DeletionPolicy,
    Direction,
    FieldMapping,
    Side,
    TableMapping,
    TableSpec,
)
from coupler.domain.timeutil import format_iso
from coupler.ports.connector import Connector
from coupler.ports.store import StateStore
from coupler.services.api import Coupler
from coupler.services.context import Systems

MAPPING = "CUSTOMER"
TABLES = {Side.LOCAL: "customers", Side.INTEGRATION: "account"}
KEYS = {Side.LOCAL: "id", Side.INTEGRATION: "accountid"}
STAMPS = {Side.LOCAL: "modified", Side.INTEGRATION: "modifiedon"}
COLUMNS = {  # logical field -> column, per side
    Side.LOCAL: {"name": "name", "city": "city", "tag": "tag", "credit": "credit"},
    Side.INTEGRATION: {"name": "name", "city": "address1_city", "tag": "accountnumber", "credit": "creditlimit"},
}
CONNECTOR_WRITES = frozenset({"insert", "update", "delete"})
STORE_WRITES = frozenset(
    {
        "cursors.acquire_lock",
        "jobs.add",
        "save",
        "cursors.set_watermark",
        "cursors.add_intents",
        "couplings.add",
        "cursors.drop_intents",
        "couplings.remove",
        "attention.remove_pending_deletions",
        "cursors.release_lock",
    }
)
STORE_PARTS = frozenset({"couplings", "attention", "jobs", "cursors"})


def customer_mapping(policy: DeletionPolicy) -> TableMapping:
    """Bidirectional, new records get counterparts; name, city and tag both ways, credit to the integration only."""
    both = Direction.BIDIRECTIONAL
    local, integration = COLUMNS[Side.LOCAL], COLUMNS[Side.INTEGRATION]
    pairs = [FieldMapping(local=local[f], integration=integration[f], direction=both) for f in ("name", "city", "tag")]
    pairs.append(FieldMapping(local="credit", integration="creditlimit", direction=Direction.TO_INTEGRATION))
    return TableMapping(
        name=MAPPING,
        local=TableSpec(table="customers", key="id", display_key="tag", modified_on="modified"),
        integration=TableSpec(table="account", key="accountid", display_key="accountnumber", modified_on="modifiedon"),
        direction=both,
        fields=tuple(pairs),
        sync_only_coupled=False,
        update_conflict=ConflictPolicy.NONE,
        deletion_conflict=policy,
    )


class LogicalClock:
    """Millisecond time that moves 1 ms on every reading (so no two stamps tie, unless ``frozen``) and jumps when
    told."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)
        self._frozen = False

    def __call__(self) -> datetime:
        if not self._frozen:
            self.now += timedelta(milliseconds=1)
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Every reading inside gives one time, as a database's ``now()`` does for all rows of one statement (or
        of one transaction): what is written inside shares one modified-on."""
        self.now += timedelta(milliseconds=1)
        self._frozen = True
        try:
            yield
        finally:
            self._frozen = False


@contextmanager
def counted_uuids() -> Iterator[None]:
    """uuid4 as a counter, so that keys and job ids (and so every ordering by them) repeat from run to run."""
    import uuid

    counter = itertools.count(1)
    with mock.patch.object(uuid, "uuid4", lambda: uuid.UUID(int=next(counter))):
        yield


class Crash(BaseException):
    """The process died (not a CouplerError, not even an Exception: nothing may handle it as a record's error)."""


class Fuse:
    """Counts coupler's writes (both systems and the store; or only the calls named ``only``, e.g.
    "local.insert") and blows at the N-th: before or after it is carried out. A killed process does nothing after
    that, not even its ``finally`` blocks' writes."""

    def __init__(self) -> None:
        self.countdown: int | None = None
        self.after = False
        self.kill = False
        self.only: str | None = None
        self.blown = False
        self.blown_at: str | None = None
        self.lock_held = False

    def arm(self, at: int, *, after: bool, kill: bool, only: str | None = None) -> None:
        self.countdown, self.after, self.kill, self.only, self.blown = at, after, kill, only, False

    def disarm(self) -> None:
        self.countdown = None

    def call(self, name: str, write: bool, action: Callable[[], Any]) -> Any:
        if self.blown and self.kill:
            raise Crash(f"dead: {name}")
        counted = name == self.only if self.only else write
        if not counted or self.countdown is None:
            return self._track(name, action())
        self.countdown -= 1
        if self.countdown > 0:
            return self._track(name, action())
        self.countdown, self.blown, self.blown_at = None, True, name
        if self.after:
            self._track(name, action())
        raise Crash(f"killed {'after' if self.after else 'before'} {name}")

    def _track(self, name: str, result: Any) -> Any:
        if name == "store.cursors.acquire_lock" and result:
            self.lock_held = True
        elif name == "store.cursors.release_lock":
            self.lock_held = False
        return result


class Guarded:
    """A connector or state store (``label``: local, integration or store) whose every call goes through the fuse;
    a state store's aggregates too (``store.couplings.add``...). ``writes`` names the calls that write, below the
    label (``couplings.add``)."""

    def __init__(
        self, target: object, fuse: Fuse, label: str, writes: frozenset[str], parts: frozenset[str] = frozenset()
    ) -> None:
        self._target, self._fuse, self._label, self._writes, self._parts = target, fuse, label, writes, parts

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if name in self._parts:
            inner = frozenset(w.removeprefix(f"{name}.") for w in self._writes if w.startswith(f"{name}."))
            return Guarded(attribute, self._fuse, f"{self._label}.{name}", inner)
        if not callable(attribute) or name == "close":
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._fuse.call(f"{self._label}.{name}", name in self._writes, lambda: attribute(*args, **kwargs))

        return call


class World:
    """The systems, the store and the running process; subclasses hold the data."""

    local: Connector
    integration: Connector
    store: StateStore

    def __init__(self, policy: DeletionPolicy, clock: LogicalClock) -> None:
        self.mapping = customer_mapping(policy)
        self.clock = clock
        self.fuse = Fuse()
        self.coupler = self._process()

    def _process(self) -> Coupler:
        self.fuse = Fuse()
        systems = Systems(
            local=Guarded(self.local, self.fuse, "local", CONNECTOR_WRITES),  # type: ignore[arg-type]
            integration=Guarded(self.integration, self.fuse, "integration", CONNECTOR_WRITES),  # type: ignore[arg-type]
            store=Guarded(self.store, self.fuse, "store", STORE_WRITES, STORE_PARTS),  # type: ignore[arg-type]
            mappings=[self.mapping],
            batch_size=2,
            overlap_ms=1000,
            clock=self.clock,
        )
        return Coupler(systems)

    def restart(self) -> None:
        self.coupler = self._process()

    # what users do and see -----------------------------------------------------------------------------------
    def insert(self, side: Side, values: dict[str, Any]) -> str:
        raise NotImplementedError

    def update(self, side: Side, key: str, field: str, value: Any) -> None:
        raise NotImplementedError

    def delete(self, side: Side, key: str) -> None:
        raise NotImplementedError

    def rows(self, side: Side) -> list[tuple[str, dict[str, Any]]]:
        """(key, logical field -> value) of every record of ``side``."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the world holds open."""


class MemoryWorld(World):
    def __init__(self, policy: DeletionPolicy, clock: LogicalClock) -> None:
        self.local = self._system("ERP", Side.LOCAL, clock)
        self.integration = self._system("CRM", Side.INTEGRATION, clock)
        self.store = InMemoryStateStore()
        super().__init__(policy, clock)

    @staticmethod
    def _system(name: str, side: Side, clock: LogicalClock) -> InMemoryConnector:
        connector = InMemoryConnector(display_name=name, clock=clock)
        counter = itertools.count(1)
        prefix = side.value[0].upper()
        connector.add_table(
            TABLES[side],
            KEYS[side],
            list(COLUMNS[side].values()),
            modified_on=STAMPS[side],
            key_factory=lambda: f"{prefix}{next(counter):04d}",
        )
        return connector

    def _fake(self, side: Side) -> InMemoryConnector:
        connector = self.local if side is Side.LOCAL else self.integration
        assert isinstance(connector, InMemoryConnector)
        return connector

    def insert(self, side: Side, values: dict[str, Any]) -> str:
        return self._fake(side).put(TABLES[side], {COLUMNS[side][f]: v for f, v in values.items()})

    def update(self, side: Side, key: str, field: str, value: Any) -> None:
        self._fake(side).put(TABLES[side], {KEYS[side]: key, COLUMNS[side][field]: value})

    def delete(self, side: Side, key: str) -> None:
        self._fake(side).remove(TABLES[side], key)

    def rows(self, side: Side) -> list[tuple[str, dict[str, Any]]]:
        return [
            (row[KEYS[side]], {f: row[c] for f, c in COLUMNS[side].items()})
            for row in self._fake(side).rows(TABLES[side])
        ]


class SqliteWorld(World):
    """SQLite files for both systems (modified-on stamped by triggers from the logical clock) and the state."""

    def __init__(self, policy: DeletionPolicy, clock: LogicalClock, directory: Path) -> None:
        self.clock = clock
        self.urls = {name: f"sqlite:///{directory / name}.db" for name in ("erp", "crm", "state")}
        self.users = {Side.LOCAL: self._engine(self.urls["erp"]), Side.INTEGRATION: self._engine(self.urls["crm"])}
        for side, engine in self.users.items():
            _create_table(engine, side)
        self._keys = itertools.count(1)
        self._open()
        super().__init__(policy, clock)

    def _engine(self, url: str) -> sa.Engine:
        engine = create_sql_engine(url)
        clock = self.clock

        @sa.event.listens_for(engine, "connect")
        def _clock(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.create_function("logical_now", 0, lambda: format_iso(clock()))

        return engine

    def _open(self) -> None:
        self.local = SqlConnector(self._engine(self.urls["erp"]), display_name="ERP")
        self.integration = SqlConnector(self._engine(self.urls["crm"]), display_name="CRM")
        self.store = open_state_store(self.urls["state"])

    def restart(self) -> None:
        self._close_process()
        self._open()
        super().restart()

    def insert(self, side: Side, values: dict[str, Any]) -> str:
        key = f"user-{side.value}-{next(self._keys):04d}"
        row = {KEYS[side]: key, **{COLUMNS[side][f]: v for f, v in values.items()}}
        with self.users[side].begin() as conn:
            conn.execute(sa.table(TABLES[side], *map(sa.column, row)).insert().values(row))
        return key

    def update(self, side: Side, key: str, field: str, value: Any) -> None:
        table = sa.table(TABLES[side], sa.column(KEYS[side]), sa.column(COLUMNS[side][field]))
        with self.users[side].begin() as conn:
            stmt = table.update().where(table.c[KEYS[side]] == key).values({COLUMNS[side][field]: value})
            assert conn.execute(stmt).rowcount == 1

    def delete(self, side: Side, key: str) -> None:
        table = sa.table(TABLES[side], sa.column(KEYS[side]))
        with self.users[side].begin() as conn:
            assert conn.execute(table.delete().where(table.c[KEYS[side]] == key)).rowcount == 1

    def rows(self, side: Side) -> list[tuple[str, dict[str, Any]]]:
        columns = COLUMNS[side]
        table = sa.table(TABLES[side], sa.column(KEYS[side]), *map(sa.column, columns.values()))
        with self.users[side].connect() as conn:
            found = conn.execute(sa.select(table).order_by(table.c[KEYS[side]])).mappings().all()
        return [(row[KEYS[side]], {f: row[c] for f, c in columns.items()}) for row in found]

    def _close_process(self) -> None:
        self.local.close()
        self.integration.close()
        self.store.close()

    def close(self) -> None:
        self._close_process()
        for engine in self.users.values():
            engine.dispose()


def _create_table(engine: sa.Engine, side: Side) -> None:
    table, key, stamp = TABLES[side], KEYS[side], STAMPS[side]
    columns = list(COLUMNS[side].values())
    watched = ", ".join(columns)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"CREATE TABLE {table} ({key} VARCHAR(36) PRIMARY KEY, "
            + ", ".join(f"{c} VARCHAR(20)" for c in columns)
            + f", {stamp} TEXT)"
        )
        for event in ("INSERT", f"UPDATE OF {watched}"):
            conn.exec_driver_sql(
                f"CREATE TRIGGER {table}_{event.split()[0].lower()} AFTER {event} ON {table} BEGIN "
                f"UPDATE {table} SET {stamp} = logical_now() WHERE rowid = NEW.rowid; END"
            )
