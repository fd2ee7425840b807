"""What the Dataverse and Business Central connectors share: the OData reads of ``odata_reads.py`` and batched writes.

Writes go in ``$batch`` requests of at most ``batch_size`` operations; each operation gets its own result, a stale
ETag (412) is a retryable error for that record alone.
"""

from __future__ import annotations

import uuid
from abc import ABC
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from coupler.adapters.connectors.odata.answers import detail_of, error_message_of
from coupler.adapters.connectors.odata.batch import BatchPart, PartResult
from coupler.adapters.connectors.odata.entity import EntityInfo
from coupler.adapters.connectors.odata.reads import ODataReader
from coupler.domain.mapping import TableSpec
from coupler.domain.records import RecordUpdate, WriteResult
from coupler.domain.timeutil import format_iso, parse_timestamp

__all__ = ["ODataConnector"]


class ODataConnector(ODataReader, ABC):
    """A connector over an OData v4 service reached through ``client``: the reads of ``ODataReader`` and writes in
    ``$batch`` requests."""

    # hooks -------------------------------------------------------------------------------------------------
    def _body(self, entity: EntityInfo, values: Mapping[str, Any]) -> dict[str, Any]:
        return {entity.prop(name): _jsonable(value) for name, value in values.items()}

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


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_iso(value)
    if isinstance(value, Decimal):
        return float(value)
    return value
