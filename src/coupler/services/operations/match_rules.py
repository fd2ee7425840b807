"""The rules of match-based coupling: which field groups are tried, in which order, and when two values match.

A group is a set of field pairs that must all agree (the empty local values aside). Groups come from the command
line (``--on``) or from the field mappings' ``match`` priorities: the same priority makes one group, lower first.
Values match as ``values_equal`` says (empty text equals null, 1 equals 1.0), and text ignores letter case unless
every field of the group is case-sensitive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import groupby
from typing import Any

from coupler.domain.errors import NoMatchFields, UsageError
from coupler.domain.mapping import FieldMapping, Side, TableMapping

__all__ = ["MatchGroup", "groups_by_priority", "is_empty", "match_groups", "match_key", "matchable"]


@dataclass(frozen=True, kw_only=True, slots=True)
class MatchGroup:
    """Field pairs (local field, integration field) that must all agree for two records to match."""

    pairs: tuple[tuple[str, str], ...]
    case_sensitive: bool = False

    @property
    def local_fields(self) -> tuple[str, ...]:
        return tuple(local for local, _ in self.pairs)

    @property
    def integration_fields(self) -> tuple[str, ...]:
        return tuple(integration for _, integration in self.pairs)

    def probe(self, values: Mapping[str, Any]) -> tuple[tuple[str, str, Any], ...]:
        """The (local field, integration field, local value) a local record is matched on: its empty values are
        left out, so a record whose values are all empty has nothing to match on in this group."""
        return tuple(
            (local, integration, values.get(local))
            for local, integration in self.pairs
            if not is_empty(values.get(local))
        )

    def describe(self) -> str:
        return ", ".join(
            local if local == integration else f"{local}/{integration}" for local, integration in self.pairs
        )


def is_empty(value: Any) -> bool:
    """Null, or text of nothing but blanks: never used to match."""
    return value is None or (isinstance(value, str) and not value.strip())


def match_key(value: Any, case_sensitive: bool) -> Any:
    """A hashable stand-in for ``value`` that two values share exactly when they match (``values_equal`` plus
    letter case folding for text when not ``case_sensitive``)."""
    if is_empty(value):
        return None
    if isinstance(value, str):
        return value if case_sensitive else value.lower()
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, float | int | Decimal):
        return Decimal(str(value)).normalize()
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def match_groups(mapping: TableMapping, on: Sequence[Sequence[str]] | None, *, system: str) -> tuple[MatchGroup, ...]:
    """The groups to try, in order: one per ``on`` entry (local field names), or else the field mappings' match
    priorities. A UsageError explains what is wrong or how to configure matching, naming the fields as ``system``
    (the local system's name) and the captions know them."""
    fields = [f for f in mapping.fields if _usable(f) and f.local is not None]
    usable: dict[str, FieldMapping] = {}
    for field in fields:  # a local field mapped twice (UNIT OF MEASURE's code): the pair with a match priority
        if field.local not in usable or usable[field.local].match_priority is None:
            usable[field.local or ""] = field
    if on is not None:
        groups = tuple(_group([_field(mapping, usable, name, system) for name in names]) for names in on if names)
        if not groups:
            raise UsageError("--on needs at least one field name.")
        return groups
    prioritized = sorted((f for f in fields if f.match_priority is not None), key=_priority)
    groups = tuple(_group(list(fields)) for _, fields in groupby(prioritized, key=_priority))
    if not groups:
        raise NoMatchFields(
            f"{mapping.name} has no fields to match on: give the field mappings to match on a match priority "
            "(`match = 1` in the configuration; equal priorities form one group), or name them for this run.",
            example=_example(usable),
        )
    return groups


def matchable(field: FieldMapping) -> bool:
    """Whether two records can be matched on the field mapping: a field on each side, neither a constant nor a
    lookup."""
    return bool(field.local and field.integration and not field.has_constant and field.lookup is None)


_usable = matchable


def groups_by_priority(mapping: TableMapping, priorities: Mapping[int, int | None]) -> tuple[tuple[str, ...], ...]:
    """The groups (local field names) that priorities chosen for the field mappings at these positions make, as
    the ``match`` priorities of the configuration would: the same priority is one group, lower first."""
    chosen = sorted((p, mapping.fields[i].local or "") for i, p in priorities.items() if p)
    return tuple(tuple(dict.fromkeys(name for _, name in group)) for _, group in groupby(chosen, key=lambda c: c[0]))


def _priority(field: FieldMapping) -> int:
    return field.match_priority or 0


def _group(fields: Sequence[FieldMapping]) -> MatchGroup:
    pairs = tuple(dict.fromkeys((f.local or "", f.integration or "") for f in fields))
    return MatchGroup(pairs=pairs, case_sensitive=all(f.case_sensitive for f in fields))


def _field(mapping: TableMapping, usable: Mapping[str, FieldMapping], name: str, system: str) -> FieldMapping:
    field = usable.get(name) or next((f for local, f in usable.items() if local.lower() == name.lower()), None)
    if field is not None:
        return field
    lookup = next((f for f in mapping.fields if f.local == name and f.lookup is not None), None)
    if lookup is not None:
        raise UsageError(f"{mapping.name}: {name} is a lookup field; matching on lookup fields is not supported.")
    known = ", ".join(f"{local} ({mapping.caption_of(Side.LOCAL, local)})" for local in usable) or "(none)"
    raise UsageError(
        f"{mapping.name} has no field mapping of the {system} field {name!r} to match on. "
        f"--on takes the names of the {system} fields of the mapping: {known}."
    )


def _example(usable: Mapping[str, FieldMapping]) -> str:
    return next(iter(usable), "FIELD")
