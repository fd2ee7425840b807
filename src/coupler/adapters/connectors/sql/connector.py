"""The SQL connector: any database SQLAlchemy reaches, through SQLAlchemy Core (no ORM); reads in ``sql_reads.py``.

Tables are reflected lazily, once each. Reads page with keysets on (modified-on, key) and hold no cursor between
pages; writes go in one executemany per batch and, when a batch fails, bisect it in fresh transactions so every
good row lands and each bad row gets its own error. SQL tables have no ETag: ``RecordUpdate.version`` is ignored
and records carry no version. A ``schema.table`` name reflects ``table`` in ``schema``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from coupler.adapters.connectors.sql.batches import Writer, chunks, write_isolating
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
        key_param = "coupler_key_"
        while key_param in plan.table.columns:
            key_param += "_"
        missing: dict[int, str] = {}
        groups: dict[tuple[str, ...], list[tuple[int, tuple[Any, Mapping[str, Any]]]]] = {}
        for index, update in enumerate(updates):
            native = plan.key_value(update.key)
            if is_invalid(native):
                missing[index] = self._missing(plan, update.key)
            else:
                groups.setdefault(tuple(sorted(update.values)), []).append((index, (native, update.values)))
        stmt = plan.table.update().where(plan.key == sa.bindparam(key_param))
        sane_rowcount = self._engine.dialect.supports_sane_multi_rowcount

        def write(
            conn: Connection, batch: list[tuple[int, tuple[Any, Mapping[str, Any]]]]
        ) -> tuple[dict[int, Any], dict[int, str]]:
            matched = -1
            if batch[0][1][1]:
                params = [{**values, key_param: native} for _, (native, values) in batch]
                matched = conn.execute(stmt, params).rowcount
            written = {index: values.get(plan.key.name, native) for index, (native, values) in batch}
            if sane_rowcount and matched == len(batch):
                return written, {}
            existing = self._stamps(conn, plan, [native for _, (native, _) in batch])
            errors = {index: self._missing(plan, str(native)) for index, (native, _) in batch if native not in existing}
            return {index: key for index, key in written.items() if index not in errors}, errors

        return self._write(plan, len(updates), groups.values(), write, missing, keys=[u.key for u in updates])

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
        with self._connect() as conn:
            written, failed = write_isolating(conn, plan.name, batches, write)
            stamps = self._stamps(conn, plan, written.values()) if reread else {}
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
