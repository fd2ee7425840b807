"""Named locks in the ``coupler_locks`` table, safe between processes sharing the database.

Taking a lock is one conditional upsert: insert the row, or, if the name is taken, update it only where the holder
is the same owner or the lock expired. The database decides atomically (PostgreSQL locks the conflicting row and
re-checks the condition on its latest version; SQLite runs one writer at a time), so of two racing processes
exactly one sees a changed row. Renewing is an update where the holder is still the same owner: a lock that was
taken over or released in between is not renewed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from coupler.adapters.store.sql import schema
from coupler.domain.state import Lock

__all__ = ["acquire_lock", "list_locks", "release_lock", "renew_lock"]

_L = schema.locks.c


def acquire_lock(
    conn: Connection,
    name: str,
    owner: str,
    *,
    until: datetime,
    now: datetime,
    host: str | None = None,
    pid: int | None = None,
) -> bool:
    """Take or extend the lock in the connection's transaction; whether ``owner`` holds it now."""
    values = {"name": name, "owner": owner, "until": until, "host": host, "pid": pid}
    takeable = or_(_L.owner == owner, _L.until < now)
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        stmt = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(schema.locks).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_L.name],
            set_={name: stmt.excluded[name] for name in ("owner", "until", "host", "pid")},
            where=takeable,
        )
        return conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount == 1
    # other databases: update a takeable row, else insert in a savepoint (a taken name fails the insert)
    if conn.execute(update(schema.locks).where(_L.name == name, takeable).values(values)).rowcount == 1:
        return True
    try:
        with conn.begin_nested():
            conn.execute(insert(schema.locks).values(values))
    except IntegrityError:
        return False
    return True


def release_lock(conn: Connection, name: str, owner: str) -> None:
    conn.execute(delete(schema.locks).where(_L.name == name, _L.owner == owner))


def renew_lock(conn: Connection, name: str, owner: str, *, until: datetime) -> bool:
    """Extend the lock if ``owner`` still holds it (expired or not); whether it did."""
    stmt = update(schema.locks).where(_L.name == name, _L.owner == owner).values(until=until)
    return conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount == 1


def list_locks(conn: Connection) -> list[Lock]:
    rows = conn.execute(select(_L.name, _L.owner, _L.until, _L.host, _L.pid).order_by(_L.name))
    return [Lock(name=r.name, owner=r.owner, until=r.until, host=r.host, pid=r.pid) for r in rows]
