"""The records a user selected for match-based coupling: local primary or display keys, resolved in batches.

As everywhere a user names records (``services.records``), a reference is a primary key, else a display key; a
display key several records share must be given as a primary key. A reference naming no local record, or a record
outside the mapping's local filter, refuses the request before any job starts; records already coupled are left out
and counted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from coupler.domain.errors import RecordError, RecordNotFound, UsageError
from coupler.domain.mapping import Side, TableMapping
from coupler.domain.records import Record
from coupler.services.context import Systems

__all__ = ["Selection", "chunks", "select_uncoupled"]

T = TypeVar("T")
SHOWN = 10
"""How many references an error message names before saying how many more there are."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Selection:
    """The selected local records that are not coupled (in the order named), and how many selected are."""

    records: list[Record]
    coupled: int


def select_uncoupled(
    systems: Systems, mapping: TableMapping, refs: Sequence[str], *, columns: Sequence[str]
) -> Selection:
    """The uncoupled local records ``refs`` names, read with ``columns``; see the module's docstring."""
    wanted = list(dict.fromkeys(ref.strip() for ref in refs if ref.strip()))
    if not wanted:
        raise UsageError(f"{mapping.name}: select at least one {systems.name(Side.LOCAL)} record to match.")
    found = _find(systems, mapping, wanted, columns)
    unknown = [ref for ref in wanted if ref not in found]
    if unknown:
        names = _names(unknown, quoted=False)
        raise RecordNotFound(f"{systems.name(Side.LOCAL)} has no {mapping.local.title} {names}.")
    records = list({found[ref].key: found[ref] for ref in wanted}.values())
    outside = [r for r in records if not mapping.local.matches(r.values)]
    if outside:
        system = systems.name(Side.LOCAL)
        failed = dict.fromkeys(c.field for r in outside for c in mapping.local.failed(r.values))
        one = outside[0] if len(outside) == 1 else None  # one record: its values; several: the fields only
        values = ", ".join(
            f"{mapping.caption_of(Side.LOCAL, f)}" + (f" is {one.get(f)!r}" if one is not None else "") for f in failed
        )
        names = _names([mapping.label(Side.LOCAL, r.key, r.values, system=system) for r in outside], quoted=False)
        raise RecordError(
            f"{mapping.name}: {names} {'is' if len(outside) == 1 else 'are'} outside the mapping's filter "
            f"({values}), so {'it' if len(outside) == 1 else 'they'} cannot be coupled."
        )
    coupled = systems.store.couplings.find(mapping.name, Side.LOCAL, [r.key for r in records])
    return Selection(records=[r for r in records if r.key not in coupled], coupled=len(coupled))


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _find(systems: Systems, mapping: TableMapping, refs: Sequence[str], columns: Sequence[str]) -> dict[str, Record]:
    """Reference -> record: by primary key in batches, then the rest by display key in batches (filters not
    applied, so a record outside the filter is named as such rather than unknown)."""
    spec = replace(mapping.local, filter=())
    connector, size = systems.local, systems.batch_size
    found: dict[str, Record] = {}
    for chunk in chunks(refs, size):
        found.update((r.key, r) for r in connector.read(spec, chunk, columns=columns))
    display = spec.display_key
    missing = [ref for ref in refs if ref not in found]
    if not display or not missing:
        return found
    for chunk in chunks(missing, size):
        for record in connector.find_any(spec, display, chunk, columns=columns):
            shown = str(record.get(display))
            if shown in found and found[shown].key != record.key:
                raise RecordError(
                    f"{mapping.name}: more than one {mapping.records_of(Side.LOCAL, systems.name(Side.LOCAL))} has "
                    f"{mapping.caption_of(Side.LOCAL, display)} {shown!r}; use its primary key."
                )
            found[shown] = record
    return found


def _names(items: Sequence[str], *, quoted: bool = True) -> str:
    shown = ", ".join(repr(item) if quoted else item for item in items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")
