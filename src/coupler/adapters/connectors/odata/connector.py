"""What the Dataverse and Business Central connectors share: OData queries, paging, batched lookups and writes.

Reads select only the named columns, page with ``Prefer: odata.maxpagesize`` and follow ``@odata.nextLink`` as
given; many keys are read as ``or`` chains bundled into one ``$batch``. The ``$filter`` sent is a pre-filter (see
``query.py``); every record is checked against the structured filter and the criteria here, so each connector means
what the in-memory connector means. Values cross the boundary through ``_to_wire`` and ``_from_wire`` (Business
Central encodes its enum members); on a service without null (``nulls``) a null the filter tests is the column's
blank (``_blank``), on the server and in that check alike, and no ``$filter`` holds ``null``.

Writes go in ``$batch`` requests of at most ``batch_size`` operations; each operation gets its own result, a stale
ETag (412) is a retryable error for that record alone. The requests of one call (one batch of independent records
the engine hands over) go out in parallel, up to the requests the service allows in flight (``HttpClient.parallel``):
writes go in as many requests as full ones of ``batch_size`` would take, rounded up to fill the ``WIDTH`` lanes of each
round and never fewer than ``SPREAD_FLOOR`` records each (``_spread``), at most ``WIDTH`` in flight, and the answers
come back in the order sent. The engine hands a parallel connector pages of ``WIDTH`` batches (``Connector.parallel``),
so that a synchronization sends about as few requests per record as one at a time did (each request also costs the
service a fixed time and counts against its 6,000 per 5 minutes) with ``WIDTH`` of them side by side. Reads of many
keys spread their ``or`` chains the same way, at least ``READ_FLOOR`` chains per ``$batch``. What depends on other
work (a lookup's target, the next pass) is in another call.
"""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from coupler.adapters.connectors.http_client import HttpClient
from coupler.adapters.connectors.odata.answers import detail_of, error_message_of, rows_of
from coupler.adapters.connectors.odata.batch import BatchPart, PartResult
from coupler.adapters.connectors.odata.entity import EntityInfo, Row
from coupler.adapters.connectors.odata.query import (
    and_all,
    condition_filter,
    key_chunks,
    key_segment,
    literal,
    or_equal,
    with_blank,
)
from coupler.adapters.connectors.odata.stale import stale_schema
from coupler.domain.errors import ConfigurationError, PermanentConnectorError
from coupler.domain.mapping import Condition, Operator, TableSpec, matches_all
from coupler.domain.records import ChangeCursor, Record, RecordUpdate, WriteResult
from coupler.domain.timeutil import format_iso, parse_timestamp
from coupler.ports.connector import ColumnInfo, Connector
from coupler.ports.metadata import InProcessMetadata, MetadataCache

__all__ = ["READ_FLOOR", "SMALL_READ", "SPREAD_FLOOR", "WIDTH", "ODataConnector", "only_columns", "same_value"]

WIDTH = 5
"""The requests of one call in flight at most (fewer when the service recommends fewer): Business Central's limit,
and over a long run about what Dataverse's 1,200 s of execution time per 5 minutes sustains (some 4 requests at once
on average: beyond a burst, more width buys nothing)."""

SPREAD_FLOOR = 100
"""Writes are spread over parallel requests of at least this many records (``_spread``)."""

READ_FLOOR = 4
"""A read of many keys sends at least this many ``or`` chains in one ``$batch`` (600 keys: one request)."""

SMALL_READ = 200
"""Reads taken in pages of at most this many records are fetched in pages of that size (see ``_fetch_size``)."""


class ODataConnector(Connector, ABC):
    """A connector over an OData v4 service reached through ``client``: reads by queries, writes in ``$batch``
    requests."""

    fold_text = False  # the service compares text case-insensitively (Dataverse)
    nulls = True  # the service has null and compares with it in $filter (Business Central: no, see _blank)
    max_page_size = 5000
    max_batch = 1000

    def __init__(
        self, client: HttpClient, *, display_name: str, batch_size: int, page_size: int, max_filter_length: int
    ) -> None:
        self.client = client
        self.parallel = max(1, min(WIDTH, client.concurrency))
        self.display_name = display_name
        self._batch_size = max(1, min(batch_size, self.max_batch))
        self._page_size = max(1, min(page_size, self.max_page_size))
        self._max_filter = max_filter_length
        self._entities: dict[str, EntityInfo | None] = {}
        self.metadata: MetadataCache = InProcessMetadata()
        """Where answers about the schema are kept (``_known_json``, ``_known_text``); the composition root puts
        the state store's cache here so that a process does not ask again what an earlier one learnt."""
        self._stale_refreshed = False
        client.watch_refusals(self._refused)

    # hooks -------------------------------------------------------------------------------------------------
    @abstractmethod
    def _load_entity(self, table: str) -> EntityInfo | None:
        """The metadata of entity set ``table``, or None when the service has none."""

    @abstractmethod
    def _collection(self, entity: EntityInfo) -> str:
        """The entity set's URL relative to the client's base URL."""

    @abstractmethod
    def _send_batch(self, parts: Sequence[BatchPart], *, what: str) -> list[PartResult]:
        """One ``$batch`` request; part URLs are relative to the client's base URL."""

    def _by_self(self, entity: EntityInfo, rows: Sequence[Row]) -> Callable[[Row], bool] | None:
        """How to tell that coupler's own user made a row's last change, or None when the service cannot say
        (Dataverse compares ``_modifiedby_value`` with its application user)."""
        return None

    def _body(self, entity: EntityInfo, values: Mapping[str, Any]) -> dict[str, Any]:
        return {entity.prop(name): _jsonable(self._to_wire(entity, name, value)) for name, value in values.items()}

    def _prefer(self, params: Mapping[str, str], page_size: int) -> str:
        """The ``Prefer`` header of a read with ``params`` (Dataverse adds the annotations it needs)."""
        return f"odata.maxpagesize={min(max(page_size, 1), self.max_page_size)}"

    def _to_wire(self, entity: EntityInfo, column: str, value: Any) -> Any:
        """A value of ``column`` as the service spells it, in a body or a ``$filter`` literal (Business Central
        encodes enum members: ``" "`` -> ``_x0020_``)."""
        return value

    def _from_wire(self, entity: EntityInfo, column: str, value: Any) -> Any:
        """A value of ``column`` as the service sent it, as coupler compares and maps it (``_to_wire`` undone)."""
        return value

    def _blank(self, entity: EntityInfo, column: str) -> Any:
        """What stands for "no value" in ``column``: None where the service has null (``nulls``), else the
        column's blank value where one is known (Business Central's '' for a text)."""
        return None

    def _term(self, entity: EntityInfo, condition: Condition) -> str:
        """The ``$filter`` pre-filter of one condition (on a column, with coupler's values), "" for none."""
        value = condition.value
        if condition.op in (Operator.IN, Operator.NOT_IN) and isinstance(value, list | tuple | set | frozenset):
            value = [self._to_wire(entity, condition.field, v) for v in value]
        elif condition.op not in (Operator.STARTSWITH, Operator.CONTAINS):
            value = self._to_wire(entity, condition.field, value)
        wire = replace(condition, field=entity.prop(condition.field), value=value)
        return condition_filter(wire, fold_text=self.fold_text, guid=entity.is_guid(condition.field), nulls=self.nulls)

    # metadata ----------------------------------------------------------------------------------------------
    def _known_json(self, path: str, *, what: str, params: Mapping[str, str] | None = None) -> Any:
        """The JSON answer of a GET about the schema (definitions, the signed-in user, the company), asked once
        per connection and kept in ``metadata``."""
        key = "GET " + path + ("?" + urlencode(sorted(params.items())) if params else "")
        kept = self.metadata.get(key)
        if kept is not None:
            return json.loads(kept)
        answer = self.client.get_json(path, params=params, what=what, watch=False)
        self.metadata.put(key, json.dumps(answer))
        return answer

    def _known_text(self, path: str, *, what: str, accept: str = "application/xml") -> str:
        """The text of a GET about the schema (``$metadata``), asked once per connection and kept in ``metadata``."""
        key = f"GET {path} {accept}"
        kept = self.metadata.get(key)
        if kept is not None:
            return kept
        asked = self.client.request("GET", path, headers={"Accept": accept}, what=what, watch=False)
        response = self.client.check(asked, what=what)
        self.metadata.put(key, response.text)
        return response.text

    def refresh_metadata(self) -> None:
        """Forget what was learnt about the schema, here and in ``metadata``: the next question asks the service."""
        self.metadata.forget()
        self._entities.clear()

    def _refused(self, method: str, path: str, status: int, message: str) -> None:
        """A refused request that shows the schema changed since it was learnt (``stale_schema``) makes the
        connector forget what it learnt, here and in ``metadata``: a retry, or the next process, asks again. Once per
        connector: after that the schema was read again from the service, so a later refusal is not staleness."""
        if not self._stale_refreshed and stale_schema(method, path, status, message):
            self._stale_refreshed = True
            self.refresh_metadata()

    # system ------------------------------------------------------------------------------------------------
    def describe(self, table: str) -> Mapping[str, ColumnInfo] | None:
        entity = self._entity_or_none(table)
        return None if entity is None else dict(entity.columns)

    def close(self) -> None:
        self.client.close()

    # reads -------------------------------------------------------------------------------------------------
    def read(self, spec: TableSpec, keys: Sequence[str], *, columns: Sequence[str]) -> list[Record]:
        entity = self._entity(spec)
        wanted = list(dict.fromkeys(keys))
        guid = entity.is_guid(entity.key)
        filters = [or_equal(entity.prop(entity.key), chunk, guid=guid) for chunk in self._chunks(wanted)]
        found = {r.key: r for r in self._query_many(entity, spec, filters, columns, apply_filter=False)}
        return [found[key] for key in wanted if key in found]

    def changed_since(
        self,
        spec: TableSpec,
        since: ChangeCursor | None,
        *,
        columns: Sequence[str],
        page_size: int,
    ) -> Iterator[list[Record]]:
        """The service orders GUID keys its own way (SQL Server's ``uniqueidentifier`` order), which a ``$filter``
        cannot compare with: a cursor with a key resumes with ``ge`` on its stamp, so the records sharing that stamp
        are read again (those already synchronized cost no write) and none is skipped."""
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        return self._changed(spec, since, columns, page_size)

    def _changed(
        self, spec: TableSpec, since: ChangeCursor | None, columns: Sequence[str], page_size: int
    ) -> Iterator[list[Record]]:
        entity = self._entity(spec)
        extra = []
        order = [entity.prop(entity.key)]
        inclusive = since is not None and since.key is not None  # the cursor's stamp is read again
        if spec.modified_on:
            self._check(entity, spec, [spec.modified_on])
            order.insert(0, entity.prop(spec.modified_on))
            if since is not None:
                extra.append(f"{entity.prop(spec.modified_on)} {'ge' if inclusive else 'gt'} {literal(since.stamp)}")
        params = self._params(entity, spec, columns, extra, order=order)
        page: list[Record] = []
        fetch = self._fetch_size(page_size)
        for rows in self._pages(self._collection(entity), params, fetch, what=f"reading {spec.table}"):
            for start in range(0, len(rows), page_size):  # records are built one engine page at a time
                for record in self._records(entity, spec, rows[start : start + page_size], columns, apply_filter=True):
                    if spec.modified_on and since is not None and _before(record, since.stamp, inclusive=inclusive):
                        continue
                    page.append(record)
                    if len(page) == page_size:
                        yield page
                        page = []
        if page:
            yield page

    def _fetch_size(self, page_size: int) -> int:
        """The page size asked of the service for a read the caller takes in pages of ``page_size``: a small read
        (a search, a first look) gets what it asks for; a synchronization's read gets the connector's own page
        size (up to the service's maximum), so 10,000 changed records cost one or two requests, not ten."""
        if page_size <= SMALL_READ:
            return page_size
        return max(page_size, self._page_size)

    def find(
        self,
        spec: TableSpec,
        criteria: Mapping[str, Any],
        *,
        columns: Sequence[str],
        limit: int = 100,
        case_sensitive: bool = True,
    ) -> list[Record]:
        entity = self._entity(spec)
        self._check(entity, spec, list(criteria))
        criteria = {name: self._blank(entity, name) if v is None else v for name, v in criteria.items()}
        extra = [self._equals(entity, name, [value], case_sensitive) for name, value in criteria.items()]
        fetch = [*columns, *criteria]
        params = self._params(entity, spec, fetch, extra, order=[entity.prop(entity.key)])
        found: list[Record] = []
        for rows in self._pages(self._collection(entity), params, self._page_size, what=f"searching {spec.table}"):
            for record in self._records(entity, spec, rows, fetch, apply_filter=True):
                if all(same_value(record.values.get(n), v, case_sensitive) for n, v in criteria.items()):
                    found.append(only_columns(record, columns))
                    if len(found) >= limit:
                        return found
        return found

    def find_any(
        self,
        spec: TableSpec,
        field: str,
        values: Sequence[Any],
        *,
        columns: Sequence[str],
        case_sensitive: bool = True,
    ) -> list[Record]:
        entity = self._entity(spec)
        self._check(entity, spec, [field])
        fold = not case_sensitive and entity.is_text(field)
        wanted = list(dict.fromkeys(v.lower() if fold and isinstance(v, str) else v for v in values))
        wanted = [v for v in wanted if v is not None]
        filters = [self._equals(entity, field, chunk, case_sensitive) for chunk in self._chunks(wanted)]
        fetch = [*columns, field]
        records = self._query_many(entity, spec, filters, fetch, apply_filter=True)
        targets = set(wanted)
        chosen = {
            r.key: only_columns(r, columns)
            for r in records
            if (_fold(r.values.get(field)) if fold else r.values.get(field)) in targets
        }
        return [chosen[key] for key in sorted(chosen)]

    # writes ------------------------------------------------------------------------------------------------
    def new_keys(self, spec: TableSpec, count: int) -> list[str] | None:
        if self._entity(spec).server_keys:
            return None
        return [str(uuid.uuid4()) for _ in range(count)]

    def update(self, spec: TableSpec, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        entity = self._entity(spec)
        self._check(entity, spec, sorted({name for u in updates for name in u.values}))
        parts = [
            BatchPart(
                method="PATCH",
                url=self._entity_url(entity, u.key),
                headers={"If-Match": u.version or "*", "Prefer": "return=representation"},
                body=self._body(entity, u.values),
            )
            for u in updates
        ]
        outcomes = self._batches(parts, what=f"updating {spec.table}")
        return self._results(entity, spec, [u.key for u in updates], outcomes)

    def delete(self, spec: TableSpec, keys: Sequence[str]) -> list[WriteResult]:
        entity = self._entity(spec)
        parts = [
            BatchPart(method="DELETE", url=self._entity_url(entity, key), headers={"If-Match": "*"}) for key in keys
        ]
        outcomes = self._batches(parts, what=f"deleting from {spec.table}")
        results = []
        for index, (key, outcome) in enumerate(zip(keys, outcomes, strict=True)):
            if outcome.ok:
                results.append(WriteResult(index=index, key=key))
            else:
                results.append(self._failed(index, spec, key, outcome))
        return results

    # internals: entities -----------------------------------------------------------------------------------
    def _entity_or_none(self, table: str) -> EntityInfo | None:
        entities = self._entities  # forgotten meanwhile (a stale schema): this question's answer stands
        if table not in entities:
            entity = entities[table] = self._load_entity(table)
            return entity
        return entities[table]

    def _entity(self, spec: TableSpec) -> EntityInfo:
        entity = self._entity_or_none(spec.table)
        if entity is None:
            raise ConfigurationError(f"{self.display_name} has no table (entity set) {spec.table!r}")
        return entity

    def _conditions(self, entity: EntityInfo, spec: TableSpec) -> tuple[Condition, ...]:
        """The spec's filter as this service means it: a null tested becomes the column's blank (``_blank``), on
        the server and in the client-side check alike."""
        return tuple(with_blank(c, self._blank(entity, c.field)) for c in spec.filter)

    def _row_conditions(self, entity: EntityInfo, spec: TableSpec) -> tuple[Condition, ...]:
        """The filter each row read is checked against, its values as ``_from_wire`` gives them (``_conditions``
        unless a blank is read as null)."""
        return self._conditions(entity, spec)

    def _check(self, entity: EntityInfo, spec: TableSpec, names: Iterable[str]) -> None:
        for name in names:
            if name not in entity.columns:
                raise ConfigurationError(f"table {spec.table!r} of {self.display_name} has no column {name!r}")

    def _entity_url(self, entity: EntityInfo, key: str) -> str:
        segment = key_segment(key, guid=entity.is_guid(entity.key), name=entity.prop(entity.key))
        return f"{self._collection(entity)}{segment}"

    # internals: queries ------------------------------------------------------------------------------------
    def _chunks(self, values: Sequence[Any]) -> Iterator[list[Any]]:
        return key_chunks(values, max_length=self._max_filter)

    def _equals(self, entity: EntityInfo, name: str, values: Sequence[Any], case_sensitive: bool) -> str:
        fold = not case_sensitive and entity.is_text(name) and not self.fold_text
        if any(v is None for v in values):
            return f"{entity.prop(name)} eq null" if self.nulls else ""  # without null: the client decides
        wire = [self._to_wire(entity, name, v) for v in values]
        return or_equal(entity.prop(name), wire, fold=fold, guid=entity.is_guid(name))

    def _params(
        self,
        entity: EntityInfo,
        spec: TableSpec,
        columns: Sequence[str],
        extra: Sequence[str],
        *,
        order: Sequence[str],
        filtered: bool = True,
    ) -> dict[str, str]:
        """$select, $orderby and $filter (the spec's filter unless not ``filtered``, and the ``extra`` terms)."""
        filter_fields = [c.field for c in spec.filter] if filtered else []
        self._check(entity, spec, [*columns, *filter_fields])
        names = dict.fromkeys([entity.key, *([spec.modified_on] if spec.modified_on else []), *columns, *filter_fields])
        pre = [self._term(entity, c) for c in self._conditions(entity, spec)] if filtered else []
        params = {"$select": ",".join(entity.prop(n) for n in names), "$orderby": ",".join(order)}
        where = and_all([*pre, *extra])
        if where:
            params["$filter"] = where
        return params

    def _pages(self, path: str, params: Mapping[str, str], page_size: int, *, what: str) -> Iterator[list[Row]]:
        headers = {"Prefer": self._prefer(params, page_size)}
        answer = self.client.get_json(path, params=params, headers=headers, what=what)
        while True:
            yield rows_of(answer, self.display_name)
            link = answer.get("@odata.nextLink")
            if not link:
                return
            answer = self.client.get_json(str(link), headers=headers, what=what)

    def _query_many(
        self, entity: EntityInfo, spec: TableSpec, filters: Sequence[str], columns: Sequence[str], *, apply_filter: bool
    ) -> list[Record]:
        """The records matching any of ``filters`` (one per chunk): one GET, or one ``$batch`` of GETs."""
        if not filters:
            return []
        order = [entity.prop(entity.key)]
        params = [self._params(entity, spec, columns, [f], order=order, filtered=apply_filter) for f in filters]
        what = f"reading {spec.table}"
        rows: list[Row] = []
        if len(params) == 1:
            for page in self._pages(self._collection(entity), params[0], self.max_page_size, what=what):
                rows.extend(page)
        else:
            prefer = {"Prefer": self._prefer(params[0], self.max_page_size)}
            parts = [BatchPart(method="GET", url=self._query_url(entity, p), headers=prefer) for p in params]
            for outcome in self._batches(parts, what=what, floor=READ_FLOOR):
                if not outcome.ok:
                    message = error_message_of(outcome)
                    raise PermanentConnectorError(f"{self.display_name}: {what} failed: {outcome.status} {message}")
                answer = outcome.body if isinstance(outcome.body, dict) else {}
                rows.extend(rows_of(answer, self.display_name))
                link = answer.get("@odata.nextLink")
                while link:
                    answer = self.client.get_json(str(link), headers=prefer, what=what)
                    rows.extend(rows_of(answer, self.display_name))
                    link = answer.get("@odata.nextLink")
        return self._records(entity, spec, rows, columns, apply_filter=apply_filter)

    def _query_url(self, entity: EntityInfo, params: Mapping[str, str]) -> str:
        return f"{self._collection(entity)}?{urlencode(params, quote_via=quote, safe='$(),:')}"

    def _records(
        self, entity: EntityInfo, spec: TableSpec, rows: Sequence[Row], columns: Sequence[str], *, apply_filter: bool
    ) -> list[Record]:
        by_self = self._by_self(entity, rows)
        names = list(dict.fromkeys([*columns, *(c.field for c in spec.filter)]))
        conditions = self._row_conditions(entity, spec) if apply_filter else ()
        records = []
        stamp_name = spec.modified_on
        for row in rows:
            values = {name: self._from_wire(entity, name, row.get(entity.prop(name))) for name in names}
            modified_on = parse_timestamp(row.get(entity.prop(stamp_name))) if stamp_name else None
            if stamp_name in values:
                values[stamp_name] = modified_on
            if not matches_all(conditions, values):
                continue
            key = row.get(entity.prop(entity.key))
            version = row.get("@odata.etag")
            records.append(
                Record(
                    key=str(key),
                    modified_on=modified_on,
                    values={name: values[name] for name in columns},
                    version=str(version) if version is not None else None,
                    modified_by_self=by_self is not None and by_self(row),
                )
            )
        return records

    # internals: batches ------------------------------------------------------------------------------------
    def _spread(self, count: int, *, floor: int = SPREAD_FLOOR) -> int:
        """How many of ``count`` operations go in one request: as many requests as full ones of ``batch_size``
        would take, rounded up to fill every lane of ``WIDTH`` (fewer when the service recommends fewer) in each
        round, but none of fewer than ``floor`` operations (each request costs the service a fixed time and counts
        against its 6,000 per 5 minutes)."""
        width = max(1, min(WIDTH, self.client.concurrency))
        full = -(-count // self._batch_size)
        requests = max(1, min(-(-full // width) * width, count // max(1, floor)))
        return max(1, min(self._batch_size, -(-count // requests)))

    def _batches(self, parts: Sequence[BatchPart], *, what: str, floor: int = SPREAD_FLOOR) -> list[PartResult]:
        """``parts`` in ``$batch`` requests sent in parallel (``_spread``); one answer per part, in order."""
        size = self._spread(len(parts), floor=floor)
        chunks = [parts[start : start + size] for start in range(0, len(parts), size)]

        def send(chunk: Sequence[BatchPart]) -> list[PartResult]:
            answers = self._send_batch(chunk, what=what)
            if len(answers) != len(chunk):
                raise PermanentConnectorError(
                    f"{self.display_name}: {what}: the $batch answer holds {len(answers)} responses for "
                    f"{len(chunk)} requests"
                )
            return answers

        outcomes: list[PartResult] = []
        for chunk, answers in zip(chunks, self.client.parallel(send, chunks), strict=True):
            for part, answer in zip(chunk, answers, strict=True):
                if not answer.ok:
                    self._refused(part.method, part.url, answer.status, error_message_of(answer))
            outcomes.extend(answers)
        return outcomes

    # internals: writes -------------------------------------------------------------------------------------
    def _results(
        self, entity: EntityInfo, spec: TableSpec, keys: Sequence[str | None], outcomes: Sequence[PartResult]
    ) -> list[WriteResult]:
        """One result per written record; the new modified-on and ETag come from the answers, or are read again."""
        results: list[WriteResult] = []
        unstamped: list[int] = []
        for index, (key, outcome) in enumerate(zip(keys, outcomes, strict=True)):
            if not outcome.ok:
                results.append(self._failed(index, spec, key, outcome))
                continue
            body = outcome.body if isinstance(outcome.body, dict) else {}
            written = str(body.get(entity.prop(entity.key)) or key)
            stamp = parse_timestamp(body.get(entity.prop(spec.modified_on))) if spec.modified_on else None
            etag = body.get("@odata.etag") or outcome.headers.get("etag")
            results.append(WriteResult(index=index, key=written, modified_on=stamp, version=etag))
            if (spec.modified_on and stamp is None) or etag is None:
                unstamped.append(index)
        return self._restamp(spec, results, unstamped)

    def _restamp(self, spec: TableSpec, results: list[WriteResult], indexes: Sequence[int]) -> list[WriteResult]:
        """Read the modified-on and ETag of written records the answers did not carry (echo suppression needs the
        target's new modified-on)."""
        keys = [results[i].key for i in indexes if results[i].key]
        if not keys:
            return results
        fresh = {r.key: r for r in self.read(spec, [k for k in keys if k], columns=[])}
        for i in indexes:
            record = fresh.get(results[i].key or "")
            if record is not None:
                results[i] = WriteResult(
                    index=i, key=results[i].key, modified_on=record.modified_on, version=record.version
                )
        return results

    def _failed(self, index: int, spec: TableSpec, key: str | None, outcome: PartResult) -> WriteResult:
        return WriteResult(
            index=index,
            key=key,
            error=self._part_error(spec, key, outcome),
            detail=detail_of(outcome.status, outcome.body),
            retryable=outcome.status == 412,
        )

    def _part_error(self, spec: TableSpec, key: str | None, outcome: PartResult) -> str:
        if outcome.status == 404:
            return f"record {key} does not exist in {spec.table}"
        if outcome.status == 412:
            return (
                f"record {key} of {spec.table} changed in {self.display_name} since it was read "
                "(ETag mismatch); it is read again and synchronized on the next attempt"
            )
        return f"{error_message_of(outcome)} ({self.display_name}, {outcome.status})"


def _before(record: Record, stamp: datetime, *, inclusive: bool) -> bool:
    """Whether a record the service returned is stamped before a change read's start (or has no stamp)."""
    if record.modified_on is None:
        return True
    return record.modified_on < stamp if inclusive else record.modified_on <= stamp


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def same_value(actual: Any, wanted: Any, case_sensitive: bool) -> bool:
    """Whether a read value is the one asked for (text ignoring case unless ``case_sensitive``; None only None)."""
    if wanted is None:
        return actual is None
    if not case_sensitive and isinstance(actual, str) and isinstance(wanted, str):
        return actual.lower() == wanted.lower()
    return bool(actual == wanted)


def only_columns(record: Record, columns: Sequence[str]) -> Record:
    """``record`` with just ``columns`` (read with more, for a filter or criteria)."""
    if list(record.values) == list(columns):
        return record
    return Record(
        key=record.key,
        modified_on=record.modified_on,
        values={name: record.values.get(name) for name in columns},
        version=record.version,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_iso(value)
    if isinstance(value, Decimal):
        return float(value)
    return value
