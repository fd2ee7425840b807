"""The SQL connector: any database SQLAlchemy reaches, through SQLAlchemy Core (no ORM).

Tables are reflected lazily, once each. Reads page with keysets on (modified-on, key) and hold no cursor between
pages; writes go in one executemany per batch and, when a batch fails, bisect it in fresh transactions so every
good row lands and each bad row gets its own error. A ``schema.table`` name reflects ``table`` in ``schema``.

SQL tables have no ETag: a record's version is its modified-on as the database spells it (see
``TablePlan.version``). Records read by key carry it; an update given the version read makes itself conditional on
it (``WHERE key = ? AND modified-on = ?``); a record changed since it was read is not written, and its result is a
retryable error, so the engine reads it again. The modified-on of written records is read back in the write's own
transaction, so a change committed right after coupler's write is never taken for coupler's own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError, StatementError

from coupler.adapters.connectors.sql.batches import RowByRow, Writer, chunks, write_isolating
from coupler.adapters.connectors.sql.errors import is_retryable
from coupler.adapters.connectors.sql.filters import filter_clause, prefix_clause
from coupler.adapters.connectors.sql.schema import TablePlan, check_lengths, column_info, is_invalid, read_timestamp
from coupler.domain.errors import ConfigurationError, ConnectorError, PermanentConnectorError, RetryableConnectorError
from coupler.domain.mapping import TableSpec
from coupler.domain.ordering import Bookmark
from coupler.domain.records import ChangeCursor, Record, RecordUpdate, WriteResult
from coupler.ports.connector import ColumnInfo, Connector

__all__ = ["SqlConnector"]

T = TypeVar("T")
Clause = sa.ColumnElement[bool]
_Row = Sequence[Any]  # a result row: key, modified-on, then the requested columns


DENSE_SEARCH = 150_000
"""Matches from which a sorted page's search reads the sort order's index rather than the matches: reading and
sorting 100,000 matches takes about 0.2 s on SQLite (measured at 1,000,000 rows), while in order a page is found
after reading a row or two per match; below this the matches may cluster far down the order, and sorting wins."""
DENSE_KEPT_SECONDS = 60.0
"""How long the answer of that probe is kept for a table, filter and search (the pages of one list)."""


class SqlConnector(Connector):
    """A database reached through ``engine``; ``chunk_size`` bounds the keys in one ``IN (...)`` list."""

    def __init__(self, engine: sa.Engine, *, display_name: str = "database", chunk_size: int = 500) -> None:
        self._engine = engine
        self.display_name = display_name
        self._chunk_size = chunk_size
        self._dialect = engine.dialect.name
        self._metadata = sa.MetaData()
        self._tables: dict[str, sa.Table] = {}
        self._plans: dict[tuple[str, str, str | None], TablePlan] = {}
        self._dense: dict[tuple[str, str, tuple[str, ...], str], tuple[bool, float]] = {}
        self._lock = threading.Lock()

    # system ------------------------------------------------------------------------------------------------
    def ping(self) -> None:
        url = self._engine.url
        try:
            with self._engine.connect() as conn:
                conn.execute(sa.select(sa.literal(1)))
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            if url.password:
                reason = reason.replace(str(url.password), "***")
            where = url.render_as_string(hide_password=True)
            raise ConnectorError(f"{self.display_name} ({where}) does not answer: {reason}") from exc

    def describe(self, table: str) -> Mapping[str, ColumnInfo] | None:
        reflected = self._table(table)
        if reflected is None:
            return None
        checked = check_lengths(reflected)
        return {column.name: column_info(column, checked=checked.get(column.name)) for column in reflected.columns}

    def close(self) -> None:
        self._engine.dispose()

    # reads -------------------------------------------------------------------------------------------------
    def read(self, spec: TableSpec, keys: Sequence[str], *, columns: Sequence[str]) -> list[Record]:
        plan = self._plan(spec)
        version = plan.version
        select = self._select(plan, columns)
        if version is not None:
            select = select.add_columns(version.label("coupler_version"))
        natives = plan.key_values(keys)
        found: dict[str, Record] = {}
        with self._connect() as conn:
            for chunk in chunks(natives, self._chunk_size):
                rows = conn.execute(select.where(plan.key.in_(chunk))).all()
                for record in self._records(plan, rows, columns, versioned=version is not None):
                    found[record.key] = record
        return [found[key] for key in map(str, natives) if key in found]

    def changed_since(
        self,
        spec: TableSpec,
        since: ChangeCursor | None,
        *,
        columns: Sequence[str],
        page_size: int,
    ) -> Iterator[list[Record]]:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        plan = self._plan(spec)
        select = self._select(plan, columns)
        base = filter_clause(plan.table, spec.filter, dialect=self._dialect, table_name=spec.table)
        return self._pages(plan, select, self._phases(plan, base, since), columns, page_size)

    def find(
        self,
        spec: TableSpec,
        criteria: Mapping[str, Any],
        *,
        columns: Sequence[str],
        limit: int = 100,
        case_sensitive: bool = True,
    ) -> list[Record]:
        plan = self._plan(spec)
        clauses = [filter_clause(plan.table, spec.filter, dialect=self._dialect, table_name=spec.table)]
        for name, value in criteria.items():
            column = plan.column(name)
            if value is None:
                clauses.append(column.is_(None))
            elif not case_sensitive and isinstance(value, str):
                clauses.append(sa.func.lower(column) == value.lower())
                if self._dialect == "sqlite" and value.isascii():  # the same test, which an index in NOCASE serves
                    clauses.append(sa.collate(column, "NOCASE") == value)
            else:
                clauses.append(column == value)
        stmt = self._select(plan, columns).where(*clauses).order_by(plan.key).limit(limit)
        with self._connect() as conn:
            rows = conn.execute(stmt).all()
        return self._records(plan, rows, columns)

    def find_any(
        self,
        spec: TableSpec,
        field: str,
        values: Sequence[Any],
        *,
        columns: Sequence[str],
        case_sensitive: bool = True,
    ) -> list[Record]:
        plan = self._plan(spec)
        column = plan.column(field)
        base = filter_clause(plan.table, spec.filter, dialect=self._dialect, table_name=spec.table)
        fold = not case_sensitive and isinstance(column.type, sa.String)
        texts = list(dict.fromkeys(v.lower() for v in values if fold and isinstance(v, str)))
        others = list(dict.fromkeys(v for v in values if v is not None and not (fold and isinstance(v, str))))
        select = self._select(plan, columns)
        rows: dict[Any, _Row] = {}
        with self._connect() as conn:
            for target, wanted in ((sa.func.lower(column), texts), (column, others)):
                for chunk in chunks(wanted, self._chunk_size):
                    rows.update((row[0], row) for row in conn.execute(select.where(base, target.in_(chunk))).all())
        return self._records(plan, [rows[key] for key in sorted(rows)], columns)

    def search(
        self,
        spec: TableSpec,
        fields: Sequence[str],
        text: str,
        *,
        columns: Sequence[str],
        after: str | None = None,
        limit: int = 100,
    ) -> list[Record]:
        """One query (see ``filters.prefix_clause``), a keyset on the key."""
        plan = self._plan(spec)
        if not fields:
            return []
        where = [
            filter_clause(plan.table, spec.filter, dialect=self._dialect, table_name=spec.table),
            prefix_clause(plan.table, fields, text, table_name=spec.table, dialect=self._dialect),
        ]
        if after is not None:
            cursor = plan.key_value(after)
            if is_invalid(cursor):
                return []
            where.append(plan.key > cursor)
        stmt = self._select(plan, columns).where(*where).order_by(plan.key).limit(limit)
        with self._connect() as conn:
            rows = conn.execute(stmt).all()
        return self._records(plan, rows, columns)

    def ordered(
        self,
        spec: TableSpec,
        field: str,
        *,
        columns: Sequence[str],
        descending: bool = False,
        after: Bookmark | None = None,
        limit: int = 100,
        search: tuple[Sequence[str], str] | None = None,
    ) -> list[Record] | None:
        """One query ordered by (field, key), a keyset on both: an index on the field (the demo's number and name)
        makes any page cost what the first costs."""
        plan = self._plan(spec)
        column, key = plan.column(field), plan.key
        where = [filter_clause(plan.table, spec.filter, dialect=self._dialect, table_name=spec.table)]
        sorted_matches = False
        if search is not None:
            if not search[0]:
                return []
            clause, sorted_matches = self._ordered_search(plan, spec, where[0], search)
            where.append(clause)
        if after is not None:
            last = plan.key_value(after.key)
            if is_invalid(last):
                return []
            where.append(_after(column, key, after.value, last, descending=descending))
        order = (column.desc().nulls_last(), key.desc()) if descending else (column.asc().nulls_first(), key.asc())
        wanted = list(dict.fromkeys([*columns, field]))
        stmt = self._select(plan, wanted).where(*where).order_by(*order).limit(limit)
        if sorted_matches:
            # The search's matches are read and sorted, and they may be many (100,000 of a million rows): SQLite
            # sorts their keys alone and reads only the page's rows whole, in half the time it takes to carry every
            # column of every match. (Where the sort's index is read in order, a page costs a few rows: as it is.)
            page = sa.select(key).where(*where).order_by(*order).limit(limit).correlate(None)
            stmt = self._select(plan, wanted).where(key.in_(page)).order_by(*order)
        with self._connect() as conn:
            rows = conn.execute(stmt).all()
        return self._records(plan, rows, wanted)

    def _ordered_search(
        self, plan: TablePlan, spec: TableSpec, base: Any, search: tuple[Sequence[str], str]
    ) -> tuple[Any, bool]:
        """The search of a sorted page, and whether SQLite reads and sorts its matches. On SQLite the prefix's
        range (which an index on the searched columns serves) pays when few rows match: they are read and sorted.
        When many match, reading the sort column's index in order and testing each row stops after a page, where
        reading every match to sort it would take seconds at a million rows: a probe of at most ``DENSE_SEARCH``
        matches tells which."""
        narrow = prefix_clause(plan.table, search[0], search[1], table_name=spec.table, dialect=self._dialect)
        if self._dialect != "sqlite":
            return narrow, False
        key = (spec.table, repr(spec.filter), tuple(search[0]), search[1])
        now = time.monotonic()
        with self._lock:
            known = self._dense.get(key)
        if known is None or now - known[1] > DENSE_KEPT_SECONDS:  # the pages of one list ask once
            probe = sa.select(sa.literal(1)).select_from(plan.table).where(base, narrow).limit(DENSE_SEARCH)
            with self._connect() as conn:
                matches = int(conn.execute(sa.select(sa.func.count()).select_from(probe.subquery())).scalar_one())
            known = (matches >= DENSE_SEARCH, now)
            with self._lock:
                self._dense[key] = known
                while len(self._dense) > 256:
                    self._dense.pop(next(iter(self._dense)))
        if not known[0]:
            return narrow, True
        unranged = prefix_clause(  # LIKE alone: no index
            plan.table, search[0], search[1], table_name=spec.table, dialect=self._dialect, ranged=False
        )
        return unranged, False

    def search_count(self, spec: TableSpec, fields: Sequence[str], text: str) -> int | None:
        return self._count(spec, (fields, text)) if fields else 0

    def count(self, spec: TableSpec) -> int | None:
        return self._count(spec, None)

    def _count(self, spec: TableSpec, prefix: tuple[Sequence[str], str] | None) -> int:
        plan = self._plan(spec)
        where = filter_clause(plan.table, spec.filter, dialect=self._dialect, table_name=spec.table)
        if prefix is not None:
            where = sa.and_(
                where, prefix_clause(plan.table, prefix[0], prefix[1], table_name=spec.table, dialect=self._dialect)
            )
        with self._connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(plan.table).where(where)).scalar_one())

    # writes ------------------------------------------------------------------------------------------------
    def new_keys(self, spec: TableSpec, count: int) -> list[str] | None:
        plan = self._plan(spec)
        if plan.generates_keys:
            return None
        return plan.new_key_texts(count)

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
                plan.insert_rows(conn, params)
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

    # internals: reads --------------------------------------------------------------------------------------
    def _table(self, name: str) -> sa.Table | None:
        with self._lock:
            table = self._tables.get(name)
            if table is not None:
                return table
            schema, _, bare = name.rpartition(".")
            try:
                with self._connect() as conn:
                    table = sa.Table(bare, self._metadata, autoload_with=conn, schema=schema or None)
            except NoSuchTableError:
                return None
            for column in table.primary_key.columns:  # SQLite reflects `id INTEGER PRIMARY KEY` as nullable, which
                column.nullable = False  # SQLAlchemy refuses as the key of a multi-row insert it numbers
            self._tables[name] = table
            return table

    def _plan(self, spec: TableSpec) -> TablePlan:
        cache_key = (spec.table, spec.key, spec.modified_on)
        plan = self._plans.get(cache_key)
        if plan is None:
            table = self._table(spec.table)
            if table is None:
                raise ConfigurationError(f"{self.display_name} has no table {spec.table!r}")
            plan = self._plans[cache_key] = TablePlan.build(table, spec)
        return plan

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        """A connection whose database errors surface as connector errors (retryable when they pass)."""
        try:
            with self._engine.connect() as conn:
                yield conn
        except StatementError as exc:
            reason = str(exc.orig if exc.orig is not None else exc).strip().splitlines()[0]
            kind = RetryableConnectorError if is_retryable(exc) else PermanentConnectorError
            raise kind(f"{self.display_name}: {reason}") from exc

    @staticmethod
    def _select(plan: TablePlan, columns: Sequence[str]) -> sa.Select[Any]:
        """SELECT key, modified-on (NULL when the spec has none), then ``columns``: rows line up with them."""
        modified_on = plan.modified_on if plan.modified_on is not None else sa.null()
        labelled = [column.label(f"c{i}") for i, column in enumerate(plan.columns(columns))]
        return sa.select(plan.key, modified_on, *labelled)

    @staticmethod
    def _records(
        plan: TablePlan, rows: Sequence[_Row], columns: Sequence[str], *, versioned: bool = False
    ) -> list[Record]:
        """Records of rows as ``_select`` lines them up (``versioned``: followed by the version)."""
        names = tuple(columns)
        stamp = plan.modified_on.name if plan.modified_on is not None and plan.modified_on.name in names else None
        parse = read_timestamp
        end = len(names) + 2
        records: list[Record] = []
        append = records.append
        for row in rows:
            modified_on = parse(row[1])
            values = dict(zip(names, row[2:end], strict=True))
            if stamp is not None:
                values[stamp] = modified_on
            version = row[end] if versioned else None
            append(Record(key=str(row[0]), modified_on=modified_on, values=values, version=version))
        return records

    def _phases(self, plan: TablePlan, base: Clause, since: ChangeCursor | None) -> list[_Phase]:
        """The keyset scans that make up a change read, in order: records never stamped first (only when reading
        everything), then by (modified-on, key), after the cursor ``since`` when there is one."""
        key, modified_on = plan.key, plan.modified_on

        def after_key(row: _Row) -> Clause:
            clause: Clause = key > row[0]
            return clause

        if modified_on is None:
            return [_Phase(where=base, order=(key,), after=after_key)]

        def after(stamp: Any, last: Any) -> Clause:
            # "mod >= m" is implied by the rest; it lets a (mod, key) index serve the scan in order.
            return sa.and_(modified_on >= stamp, sa.or_(modified_on > stamp, sa.and_(modified_on == stamp, key > last)))

        def after_stamp(row: _Row) -> Clause:
            return after(row[1], row[0])

        order = (modified_on, key)
        if since is not None:
            stamp = plan.bind_timestamp(since.stamp)
            last = None if since.key is None else plan.key_value(since.key)
            changed: Clause
            if since.key is None:
                changed = modified_on > stamp
            elif is_invalid(last):  # a key the column cannot hold: read the whole stamp again rather than skip
                changed = modified_on >= stamp
            else:
                changed = after(stamp, last)
            return [_Phase(where=sa.and_(base, changed), order=order, after=after_stamp)]
        return [
            _Phase(where=sa.and_(base, modified_on.is_(None)), order=(key,), after=after_key),
            _Phase(where=sa.and_(base, modified_on.is_not(None)), order=order, after=after_stamp),
        ]

    def _pages(
        self, plan: TablePlan, select: sa.Select[Any], phases: list[_Phase], columns: Sequence[str], page_size: int
    ) -> Iterator[list[Record]]:
        carry: list[_Row] = []
        for phase in phases:
            cursor: Clause | None = None
            while True:
                limit = page_size - len(carry)
                where = phase.where if cursor is None else sa.and_(phase.where, cursor)
                with self._connect() as conn:
                    rows: list[_Row] = list(conn.execute(select.where(where).order_by(*phase.order).limit(limit)).all())
                page = carry + rows if carry else rows
                if len(rows) < limit:
                    carry = page
                    break
                carry = []
                yield self._records(plan, page, columns)
                cursor = phase.after(rows[-1])
        if carry:
            yield self._records(plan, carry, columns)

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


def _after(
    column: sa.ColumnElement[Any], key: sa.ColumnElement[Any], value: Any, last: Any, *, descending: bool
) -> Clause:
    """Rows strictly after (value, last) in the order of ``SqlConnector.ordered``; the column's range comes first
    so that an index on it applies."""
    if descending:
        if value is None:
            return sa.and_(column.is_(None), key < last)
        return sa.or_(sa.and_(column <= value, sa.or_(column < value, key < last)), column.is_(None))
    if value is None:
        return sa.or_(column.is_not(None), sa.and_(column.is_(None), key > last))
    return sa.and_(column >= value, sa.or_(column > value, key > last))


def _free_name(plan: TablePlan, name: str) -> str:
    """``name``, lengthened until no column of the table has it (a bind parameter beside the column values)."""
    while name in plan.table.columns:
        name += "_"
    return name


@dataclass(frozen=True, kw_only=True, slots=True)
class _Phase:
    """One keyset scan: rows matching ``where`` in ``order``; ``after(last row)`` continues past a page."""

    where: Clause
    order: tuple[Any, ...]
    after: Callable[[_Row], Clause]
