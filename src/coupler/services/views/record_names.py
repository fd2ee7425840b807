"""How a user knows a record: its display key (the customer number, the account name...), else its key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from coupler.domain.mapping import Side, TableMapping
from coupler.domain.records import Record
from coupler.services.context import Systems

__all__ = ["record_name", "record_names", "record_refs"]


def record_name(mapping: TableMapping, side: Side, record: Record | None) -> str | None:
    """The record's display key, else its key (None without a record)."""
    if record is None:
        return None
    display = mapping.spec(side).display_key
    shown = record.get(display) if display else None
    return str(shown) if shown not in (None, "") else record.key


def record_names(systems: Systems, name: str, side: Side, keys: Sequence[str]) -> dict[str, str]:
    """How a user knows each of these ``side`` records (its display key, else its key, and its name: "C00020 Trey
    Research"), read in one batch; a key whose record no longer exists names itself."""
    mapping = systems.mapping(name)
    found = {r.key: mapping.title(side, r.key, r.values) for r in _named(systems, mapping, side, keys)}
    return {key: found.get(key, key) for key in dict.fromkeys(k for k in keys if k)}


def record_refs(systems: Systems, name: str, side: Side, keys: Sequence[str]) -> dict[str, str]:
    """What names each of these ``side`` records in a page's address: its display key ("C00020"), else its key."""
    mapping = systems.mapping(name)
    found = {r.key: record_name(mapping, side, r) or r.key for r in _named(systems, mapping, side, keys)}
    return {key: found.get(key, key) for key in dict.fromkeys(k for k in keys if k)}


def _named(systems: Systems, mapping: TableMapping, side: Side, keys: Sequence[str]) -> list[Record]:
    """These ``side`` records with what names them (key, display key, name), read in one batch."""
    wanted = list(dict.fromkeys(k for k in keys if k))
    if not wanted:
        return []
    spec = replace(mapping.spec(side), filter=())
    columns = tuple(dict.fromkeys(c for c in (spec.key, spec.display_key, spec.name_field) if c))
    return systems.connector(side).read(spec, wanted, columns=columns)
