"""The SQL connector: any database SQLAlchemy reaches, through SQLAlchemy Core (no ORM); reads in ``sql_reads.py``.

Tables are reflected lazily, once each. Reads page with keysets on (modified-on, key) and hold no cursor between
pages; writes go in one executemany per batch and, when a batch fails, bisect it in fresh transactions so every
good row lands and each bad row gets its own error. A ``schema.table`` name reflects ``table`` in ``schema``.

SQL tables have no ETag: a record's version is its modified-on as the database spells it (see
``TablePlan.version``). An update given the version read makes itself conditional on it (``WHERE key = ? AND
modified-on = ?``); a record changed since it was read is not written, and its result is a retryable error, so the
engine reads it again. The modified-on of written records is read back in the write's own transaction, so a change
committed right after coupler's write is never taken for coupler's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from coupler.adapters.connectors.sql.batches import RowByRow, Writer, chunks, write_isolating
from coupler.adapters.connectors.sql.reads import SqlReader
from coupler.adapters.connectors.sql.schema import TablePlan, is_invalid, read_timestamp
from coupler.domain.mapping import TableSpec
from coupler.domain.records import RecordUpdate, WriteResult

__all__ = ["SqlConnector"]

T = TypeVar("T")


class SqlConnector(SqlReader):
    """A database reached through ``engine``; ``chunk_size`` bounds the keys in one ``IN (...)`` list. The reads are
    ``SqlReader``'s; the writes are here."""

    # writes ------------------------------------------------------------------------------------------------
    def new_keys(self, spec: TableSpec, count: int) -> list[str] | None:
        plan = self._plan(spec)
        if plan.generates_keys:
            return None
        return [str(plan.new_key()) for _ in range(count)]

    def alternate_key(self, spec: TableSpec) -> str | None:
        """The spec's, or for a table whose keys the database assigns the first column a unique constraint or
        index covers alone."""
        if spec.alternate_key:
            return spec.alternate_key
        plan = self._plan(spec)
        return plan.unique_column if plan.generates_keys else None

    def insert(self, spec: TableSpec, rows: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        plan = self._plan(spec)
        plan.columns(sorted({name for row in rows for name in row}))
        key_name = plan.key.name
        groups: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = {}
        for index, row in enumerate(rows):
            values = dict(row)
            if values.get(key_name) is None:
                if plan.generates_keys:
                    values.pop(key_name, None)
                else:
                    values[key_name] = plan.new_key()
            elif plan.key_type is not str and not is_invalid(native := plan.key_value(str(values[key_name]))):
                values[key_name] = native
            groups.setdefault(tuple(sorted(values)), []).append((index, values))

        sorted_returning = self._engine.dialect.insert_executemany_returning_sort_by_parameter_order

        def write(conn: Connection, batch: list[tuple[int, dict[str, Any]]]) -> tuple[dict[int, Any], dict[int, str]]:
            params = [values for _, values in batch]
            if key_name in params[0]:  # plain executemany: psycopg pipelines it, SQLite loops in C
                conn.execute(plan.table.insert(), params)
                return {index: values[key_name] for index, values in batch}, {}
            if sorted_returning:  # "insertmanyvalues": multi-row INSERT ... RETURNING in parameter order
                stmt = plan.table.insert().returning(plan.key, sort_by_parameter_order=True)
                keys = list(conn.execute(stmt, params).scalars())
            else:  # one statement per row; assumes the key is the primary key
                keys = [(conn.execute(plan.table.insert(), row).inserted_primary_key or (None,))[0] for row in params]
            return {index: key for (index, _), key in zip(batch, keys, strict=True)}, {}

        return self._write(plan, len(rows), groups.values(), write)

    def update(self, spec: TableSpec, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        plan = self._plan(spec)
        plan.columns(sorted({name for update in updates for name in update.values}))
        key_param, version_param = _free_name(plan, "coupler_key_"), _free_name(plan, "coupler_version_")
        missing: dict[int, str] = {}
        groups: dict[tuple[tuple[str, ...], bool], list[tuple[int, _Change]]] = {}
        for index, update in enumerate(updates):
            native = plan.key_value(update.key)
            if is_invalid(native):
                missing[index] = self._missing(plan, update.key)
                continue
            version = update.version if plan.version is not None and update.values else None
            change = (native, update.values, version)
            groups.setdefault((tuple(sorted(update.values)), version is not None), []).append((index, change))
        plain = plan.table.update().where(plan.key == sa.bindparam(key_param))
        checked = plain if plan.version is None else plain.where(plan.version == sa.bindparam(version_param))
        sane_rowcount = self._engine.dialect.supports_sane_multi_rowcount
        stale: set[int] = set()

        def write(conn: Connection, batch: list[tuple[int, _Change]]) -> tuple[dict[int, Any], dict[int, str]]:
            written = {index: values.get(plan.key.name, native) for index, (native, values, _) in batch}
            conditional = batch[0][1][2] is not None
            if conditional and len(batch) > 1 and not sane_rowcount:
                raise RowByRow()  # only one statement per record tells which were changed since they were read
            matched = -1
            if batch[0][1][1]:
                params = [
                    {**values, key_param: native, **({version_param: version} if conditional else {})}
                    for _, (native, values, version) in batch
                ]
                matched = conn.execute(checked if conditional else plain, params).rowcount
            if (sane_rowcount or len(batch) == 1) and matched == len(batch):
                return written, {}
            if conditional and len(batch) > 1:
                raise RowByRow()  # some records changed since they were read: which ones, one at a time tells
            existing = self._stamps(conn, plan, [native for _, (native, _, _) in batch])
            errors = {
                index: self._missing(plan, str(native)) for index, (native, _, _) in batch if native not in existing
            }
            if conditional:  # one record, which exists, and the update matched nothing: it changed since it was read
                for index, (native, _, _) in batch:
                    if native in existing:
                        errors[index] = self._stale(plan, str(native))
                        stale.add(index)
            return {index: key for index, key in written.items() if index not in errors}, errors

        results = self._write(plan, len(updates), groups.values(), write, missing, keys=[u.key for u in updates])
        return [replace(r, retryable=True) if r.index in stale else r for r in results]

    def delete(self, spec: TableSpec, keys: Sequence[str]) -> list[WriteResult]:
        plan = self._plan(spec)
        missing: dict[int, str] = {}
        items: list[tuple[int, Any]] = []
        for index, key in enumerate(keys):
            native = plan.key_value(key)
            if is_invalid(native):
                missing[index] = self._missing(plan, key)
            else:
                items.append((index, native))
        returning = self._engine.dialect.delete_returning

        def write(conn: Connection, batch: list[tuple[int, Any]]) -> tuple[dict[int, Any], dict[int, str]]:
            natives = list({native: None for _, native in batch})
            stmt = plan.table.delete().where(plan.key.in_(natives))
            if returning:
                deleted = set(conn.execute(stmt.returning(plan.key)).scalars())
            else:
                deleted = set(self._stamps(conn, plan, natives))
                conn.execute(stmt)
            written = {index: native for index, native in batch if native in deleted}
            errors = {index: self._missing(plan, str(native)) for index, native in batch if native not in deleted}
            return written, errors

        return self._write(plan, len(keys), chunks(items, self._chunk_size), write, missing, keys=keys, reread=False)

    # internals: writes -------------------------------------------------------------------------------------
    def _write(
        self,
        plan: TablePlan,
        count: int,
        batches: Iterable[list[tuple[int, T]]],
        write: Writer[T],
        errors: dict[int, str] | None = None,
        *,
        keys: Sequence[str] | None = None,
        reread: bool = True,
    ) -> list[WriteResult]:
        """Write the batches isolating bad rows, then re-read the written rows' modified-on (triggers may set it)
        and answer one result per position: ``errors`` holds positions refused before writing."""
        stamps: dict[Any, datetime | None] = {}

        def write_and_read_back(conn: Connection, batch: list[tuple[int, T]]) -> tuple[dict[int, Any], dict[int, str]]:
            done, refused = write(conn, batch)
            if reread and done:  # in the write's transaction: the stamps of this write, not of a later one
                stamps.update(self._stamps(conn, plan, done.values()))
            return done, refused

        with self._connect() as conn:
            written, failed = write_isolating(conn, plan.name, batches, write_and_read_back)
        failed.update((index, (message, None)) for index, message in (errors or {}).items())
        results = []
        for index in range(count):
            if index in written:
                native = written[index]
                results.append(WriteResult(index=index, key=str(native), modified_on=stamps.get(native)))
            else:
                error, detail = failed.get(index, ("not written", None))
                key = keys[index] if keys is not None else None
                results.append(WriteResult(index=index, key=key, error=error, detail=detail))
        return results

    def _stamps(self, conn: Connection, plan: TablePlan, natives: Iterable[Any]) -> dict[Any, datetime | None]:
        """The modified-on of the records with these keys, by key: the keys that exist."""
        stamp = plan.modified_on if plan.modified_on is not None else sa.null()
        stamps: dict[Any, datetime | None] = {}
        for chunk in chunks(list({native: None for native in natives}), self._chunk_size):
            for key, value in conn.execute(sa.select(plan.key, stamp).where(plan.key.in_(chunk))):
                stamps[key] = read_timestamp(value)
        return stamps

    def _missing(self, plan: TablePlan, key: str) -> str:
        return f"record {key} does not exist in {plan.name}"

    def _stale(self, plan: TablePlan, key: str) -> str:
        return (
            f"record {key} of {plan.name} changed in {self.display_name} since it was read (its modified-on "
            "differs); it is read again and synchronized on the next attempt"
        )


_Change = tuple[Any, Mapping[str, Any], str | None]  # an update: the native key, the values, the version read


def _free_name(plan: TablePlan, name: str) -> str:
    """``name``, lengthened until no column of the table has it (a bind parameter beside the column values)."""
    while name in plan.table.columns:
        name += "_"
    return name
