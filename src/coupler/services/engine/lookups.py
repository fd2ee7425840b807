"""Resolving lookups for a page: translate the values of lookup fields through the referenced mapping's couplings.

Per page and lookup field: at most one read of the referenced source-side records (when the field holds something
other than their key), one coupling query, and at most one read of the referenced target-side records (when the
target field holds something other than their key). Never one query per record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from coupler.domain.mapping import Direction, Lookup, Side, TableMapping
from coupler.domain.records import Record
from coupler.domain.transfer import Move, Resolved, Transfer
from coupler.services.context import Systems

__all__ = ["LookupResolver"]


class LookupResolver:
    def __init__(self, systems: Systems) -> None:
        self.systems = systems

    def resolve(self, moves: Transfer, direction: Direction, records: Iterable[Record]) -> Resolved:
        lookups = moves.lookups
        if not lookups:
            return {}
        records = list(records)
        resolved: dict[str, dict[Any, Any]] = {}
        for move in lookups:
            assert move.source is not None and move.field.lookup is not None
            values = {v for r in records if (v := _value(move, r)) not in (None, "")}
            resolved[move.field.pair] = self._translate(move.field.lookup, direction, values) if values else {}
        return resolved

    def _translate(self, lookup: Lookup, direction: Direction, values: set[Any]) -> dict[Any, Any]:
        referenced = self.systems.mapping(lookup.mapping)
        source, target = direction.source, direction.target
        keys_by_value = self._keys(referenced, source, lookup.by(source), values)
        couplings = self.systems.store.couplings.find(referenced.name, source, list(set(keys_by_value.values())))
        partner = {key: c.key(target) for key, c in couplings.items()}
        shown = self._shown(referenced, target, lookup.by(target), list(partner.values()))
        result: dict[Any, Any] = {}
        for value in values:
            key = keys_by_value.get(value)
            other = partner.get(key) if key is not None else None
            result[value] = shown.get(other) if other is not None else None
        return result

    def _keys(self, mapping: TableMapping, side: Side, by: str | None, values: set[Any]) -> dict[Any, str]:
        """value -> key of the referenced ``side`` record that holds it in column ``by`` (its key by default)."""
        spec = replace(mapping.spec(side), filter=())
        column = by or _default_by(mapping, side)
        if column == spec.key:
            return {v: str(v) for v in values}
        found = self.systems.connector(side).find_any(spec, column, sorted(values, key=str), columns=(spec.key, column))
        return {r.get(column): r.key for r in found}

    def _shown(self, mapping: TableMapping, side: Side, by: str | None, keys: Sequence[str]) -> dict[str, Any]:
        """key -> the value the referring field holds for that ``side`` record (its key by default)."""
        spec = replace(mapping.spec(side), filter=())
        column = by or _default_by(mapping, side)
        if column == spec.key or not keys:
            return {k: k for k in keys}
        return {r.key: r.get(column) for r in self.systems.connector(side).read(spec, keys, columns=(spec.key, column))}


def _default_by(mapping: TableMapping, side: Side) -> str:
    """What a referring field holds by default: Business Central refers by code or number (the display key), Dataverse
    by the record's key (a GUID)."""
    spec = mapping.spec(side)
    return (spec.display_key or spec.key) if side is Side.LOCAL else spec.key


def _value(move: Move, record: Record) -> Any:
    value = record.get(move.source or "")
    if move.convert is not None:
        try:
            value = move.convert(value)
        except ValueError:
            return None  # the transform's error is reported when the record's values are built
    return value
