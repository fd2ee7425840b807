"""The connector port: how the engine reads and writes one connected system.

Every method works in batches so that SQL databases (one statement per batch) and HTTP services (paged reads,
batch writes, ETags, throttling) fit the same interface. Keys are strings at this boundary whatever the system's
own key type is; timestamps are timezone-aware UTC.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from coupler.domain.mapping import Condition, Operator, TableSpec
from coupler.domain.ordering import Bookmark
from coupler.domain.records import ChangeCursor, Record, RecordUpdate, WriteResult

__all__ = ["ColumnInfo", "Connector", "Deletions", "Finding", "ForwardingConnector"]


@dataclass(frozen=True, kw_only=True, slots=True)
class ColumnInfo:
    name: str
    type: str
    nullable: bool = True
    max_length: int | None = None
    primary_key: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Deletions:
    """What a deleted-entries feed reported: the ``keys`` deleted since the cursor passed in, and the opaque
    ``cursor`` to pass next time (None: the next call starts over). ``restarted`` is True when tracking started
    over (no cursor was passed, or the one passed had expired): deletions before that point are not known."""

    keys: tuple[str, ...] = ()
    cursor: str | None = None
    restarted: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class Finding:
    """One line of a connected system's preflight (``coupler check``): what was checked (``topic``), whether it is
    fine, a sentence in the system administrator's words, and what to do about it when it is not."""

    topic: str
    ok: bool
    message: str
    advice: str = ""


class Connector(ABC):
    """One connected system (the local ERP or the integration CRM)."""

    display_name: str = "system"

    parallel: int = 1
    """How many requests one call sends at once at most (an HTTP connector spreads a batch of records over that many
    requests): the engine hands such a connector pages of that many batches, so that every request stays full."""

    @abstractmethod
    def ping(self) -> None:
        """Check that the system answers; raise ConnectorError naming what is wrong otherwise."""

    @abstractmethod
    def describe(self, table: str) -> Mapping[str, ColumnInfo] | None:
        """The columns of ``table``, or None when the system has no such table."""

    @abstractmethod
    def read(self, spec: TableSpec, keys: Sequence[str], *, columns: Sequence[str]) -> list[Record]:
        """The records with these keys (no filter applied); keys that do not exist are simply absent."""

    @abstractmethod
    def changed_since(
        self,
        spec: TableSpec,
        since: ChangeCursor | None,
        *,
        columns: Sequence[str],
        page_size: int,
    ) -> Iterator[list[Record]]:
        """Pages of records matching the spec's filter that come after the cursor ``since`` (all when None),
        ordered by modified-on then key: those stamped later than its stamp, and those stamped exactly its stamp
        whose key comes after its key (compared in the key column's own type, as the order is). A connector that
        cannot compare keys in the system's own order returns every record stamped exactly the stamp again
        (never fewer). Pages are read lazily: nothing holds the whole table."""

    @abstractmethod
    def find(
        self,
        spec: TableSpec,
        criteria: Mapping[str, Any],
        *,
        columns: Sequence[str],
        limit: int = 100,
        case_sensitive: bool = True,
    ) -> list[Record]:
        """Records matching the spec's filter whose fields equal ``criteria`` (text compared case-insensitively
        when ``case_sensitive`` is false)."""

    @abstractmethod
    def find_any(
        self,
        spec: TableSpec,
        field: str,
        values: Sequence[Any],
        *,
        columns: Sequence[str],
        case_sensitive: bool = True,
    ) -> list[Record]:
        """Records matching the spec's filter whose ``field`` equals one of ``values``, in key order: the batch
        lookup of match-based coupling (one query per chunk of values, never one per value). Text is compared
        case-insensitively when ``case_sensitive`` is false; None values match nothing."""

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
        """Records matching the spec's filter whose value in one of ``fields`` starts with ``text``, compared
        case-insensitively (NULLs never match), with keys after ``after``, in key order, at most ``limit``: the
        search of the records list.

        This default asks ``find`` for the text as typed, lower-cased, upper-cased and capitalized (one query per
        field and spelling), so other mixes of case are missed; connectors that can fold case in a query (the SQL
        and in-memory ones) override it with one query."""
        spellings = dict.fromkeys(
            [text, text.lower(), text.upper(), text[:1].upper() + text[1:].lower(), text[:1].upper() + text[1:]]
        )
        cursor = (Condition(field=spec.key, op=Operator.GT, value=after),) if after is not None else ()
        found: dict[str, Record] = {}
        for field in dict.fromkeys(fields):
            for spelling in spellings:
                prefix = Condition(field=field, op=Operator.STARTSWITH, value=spelling)
                narrowed = replace(spec, filter=(*spec.filter, prefix, *cursor))
                for record in self.find(narrowed, {}, columns=columns, limit=limit):
                    found.setdefault(record.key, record)
        numeric = all(key.lstrip("-").isdigit() for key in found)
        ordered = sorted(found, key=int) if numeric else sorted(found)
        return [found[key] for key in ordered[:limit]]

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
        """Records matching the spec's filter (and ``search``: fields and a prefix, as ``search`` reads them)
        ordered by ``field`` then key (see ``coupler.domain.ordering``: empty values first when ascending), strictly
        after ``after``, at most ``limit``, with ``columns`` and ``field``: the sorted records list, a page in one
        ordered query whatever the page number.

        None when the system cannot sort by ``field`` in a query (the default): the list is then shown in key
        order."""
        return None

    def search_count(self, spec: TableSpec, fields: Sequence[str], text: str) -> int | None:
        """How many records ``search`` would find without a limit, or None when the system cannot count them
        cheaply (the default)."""
        return None

    @abstractmethod
    def new_keys(self, spec: TableSpec, count: int) -> list[str] | None:
        """``count`` keys for records about to be inserted, chosen before the insert (GUIDs), or None when the
        system assigns keys itself. Keys known in advance let coupler record its intent before it creates records,
        so that a run interrupted between creating and coupling never creates them twice. Where the system assigns
        keys, the intent names a value the record is found again by instead (see ``alternate_key``)."""

    def assigns_keys(self, spec: TableSpec) -> bool:
        """Whether the system assigns the keys of new records itself (``new_keys`` gives None)."""
        return self.new_keys(spec, 0) is None

    def alternate_key(self, spec: TableSpec) -> str | None:
        """A column of ``spec.table`` that names one record as its key does, whose value a writer chooses and the
        system keeps: where the system assigns keys, a record created with a value in it is found again by that
        value after an unanswered or interrupted creation. The spec's own ``alternate_key`` when it names one (the
        default gives only that); otherwise the system's, when it knows one (a unique column)."""
        return spec.alternate_key

    @abstractmethod
    def insert(self, spec: TableSpec, rows: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        """Insert rows; one result per row, in order, with the new key and modified-on or the row's own error.
        A rejected row never stops the others."""

    @abstractmethod
    def update(self, spec: TableSpec, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        """Update records (only the given values); one result per update, in order. A missing record is an error
        for that record alone; a stale ``version`` is a retryable error for that record."""

    @abstractmethod
    def delete(self, spec: TableSpec, keys: Sequence[str]) -> list[WriteResult]:
        """Delete records; one result per key, in order."""

    def count(self, spec: TableSpec) -> int | None:
        """How many records match the spec's filter, or None when the system cannot count cheaply (the records
        list then shows no total)."""
        return None

    def deletions(self, spec: TableSpec, since: datetime | None, *, cursor: str | None = None) -> Deletions | None:
        """The records the system reports deleted (a deleted-entries feed, like Dataverse's change tracking) since
        ``cursor``, the one a previous call returned; without a cursor, tracking starts (a system that can may
        report those deleted after ``since``). The caller stores the returned cursor once it has handled the
        keys, so that reading the same cursor again reports them again. A cursor the system no longer knows (an
        expired token) starts over: a fresh cursor, no keys, ``restarted``.

        None when the system keeps no such record (the default): then a deletion is only noticed as a missing
        partner, and waits for approval."""
        return None

    def record_url(self, spec: TableSpec, key: str) -> str | None:
        """Where a person opens the record in the system's own application (the "Open the coupled record" of
        Business Central's pages), or None when the system has no such page."""
        return None

    def preflight(self, tables: Mapping[str, Sequence[str]]) -> list[Finding]:
        """What a check of the system finds beyond the mapped columns (API version, entities, set-up, sign-in), one
        finding per line; ``tables``: the tables the configuration maps, with the columns it names. None by
        default."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class ForwardingConnector(Connector):
    """A connector that hands every call to ``inner``: the base of wrappers that change a few calls (checking a
    job's lock before each write, counting reads in tests). Every method of the port is forwarded, so a wrapper
    never runs the port's default where the inner connector has its own (Business Central's alternate key, say)."""

    def __init__(self, inner: Connector) -> None:
        self.inner = inner
        self.display_name = inner.display_name
        self.parallel = inner.parallel

    def ping(self) -> None:
        self.inner.ping()

    def describe(self, table: str) -> Mapping[str, ColumnInfo] | None:
        return self.inner.describe(table)

    def read(self, spec: TableSpec, keys: Sequence[str], *, columns: Sequence[str]) -> list[Record]:
        return self.inner.read(spec, keys, columns=columns)

    def changed_since(
        self, spec: TableSpec, since: ChangeCursor | None, *, columns: Sequence[str], page_size: int
    ) -> Iterator[list[Record]]:
        return self.inner.changed_since(spec, since, columns=columns, page_size=page_size)

    def find(
        self,
        spec: TableSpec,
        criteria: Mapping[str, Any],
        *,
        columns: Sequence[str],
        limit: int = 100,
        case_sensitive: bool = True,
    ) -> list[Record]:
        return self.inner.find(spec, criteria, columns=columns, limit=limit, case_sensitive=case_sensitive)

    def find_any(
        self,
        spec: TableSpec,
        field: str,
        values: Sequence[Any],
        *,
        columns: Sequence[str],
        case_sensitive: bool = True,
    ) -> list[Record]:
        return self.inner.find_any(spec, field, values, columns=columns, case_sensitive=case_sensitive)

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
        return self.inner.search(spec, fields, text, columns=columns, after=after, limit=limit)

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
        return self.inner.ordered(
            spec, field, columns=columns, descending=descending, after=after, limit=limit, search=search
        )

    def search_count(self, spec: TableSpec, fields: Sequence[str], text: str) -> int | None:
        return self.inner.search_count(spec, fields, text)

    def new_keys(self, spec: TableSpec, count: int) -> list[str] | None:
        return self.inner.new_keys(spec, count)

    def assigns_keys(self, spec: TableSpec) -> bool:
        return self.inner.assigns_keys(spec)

    def alternate_key(self, spec: TableSpec) -> str | None:
        return self.inner.alternate_key(spec)

    def insert(self, spec: TableSpec, rows: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        return self.inner.insert(spec, rows)

    def update(self, spec: TableSpec, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        return self.inner.update(spec, updates)

    def delete(self, spec: TableSpec, keys: Sequence[str]) -> list[WriteResult]:
        return self.inner.delete(spec, keys)

    def count(self, spec: TableSpec) -> int | None:
        return self.inner.count(spec)

    def deletions(self, spec: TableSpec, since: datetime | None, *, cursor: str | None = None) -> Deletions | None:
        return self.inner.deletions(spec, since, cursor=cursor)

    def record_url(self, spec: TableSpec, key: str) -> str | None:
        return self.inner.record_url(spec, key)

    def preflight(self, tables: Mapping[str, Sequence[str]]) -> list[Finding]:
        return self.inner.preflight(tables)

    def close(self) -> None:
        self.inner.close()
