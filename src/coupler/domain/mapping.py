"""Table mappings and field mappings: declarative data describing what is synchronized, and which way."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from coupler.domain.errors import UsageError
from coupler.domain.transforms.pipeline import Transform

__all__ = [
    "Condition",
    "ConflictPolicy",
    "DeletePropagation",
    "DeletionPolicy",
    "Direction",
    "FieldMapping",
    "Lookup",
    "Operator",
    "Side",
    "TableMapping",
    "TableSpec",
    "words",
]


class Side(StrEnum):
    """One of the two coupled systems: the local one (the ERP) or the integration one (the CRM)."""

    LOCAL = "local"
    INTEGRATION = "integration"

    @property
    def other(self) -> Side:
        return Side.INTEGRATION if self is Side.LOCAL else Side.LOCAL


class Direction(StrEnum):
    """Which way data flows between the systems: both ways, to the integration system, or from it."""

    BIDIRECTIONAL = "bidirectional"
    TO_INTEGRATION = "to-integration"
    FROM_INTEGRATION = "from-integration"

    @property
    def source(self) -> Side:
        """The side records are read from (only for one-way directions)."""
        if self is Direction.TO_INTEGRATION:
            return Side.LOCAL
        if self is Direction.FROM_INTEGRATION:
            return Side.INTEGRATION
        raise ValueError("a bidirectional direction has no single source")

    @property
    def target(self) -> Side:
        return self.source.other

    @property
    def one_way(self) -> tuple[Direction, ...]:
        """The one-way passes, in the order a run takes them: local->integration first, as Business Central does."""
        if self is Direction.BIDIRECTIONAL:
            return (Direction.TO_INTEGRATION, Direction.FROM_INTEGRATION)
        return (self,)

    def allows(self, other: Direction) -> bool:
        """Whether data may flow in ``other`` (one-way) direction under this direction."""
        return self is Direction.BIDIRECTIONAL or self is other

    @staticmethod
    def from_source(side: Side) -> Direction:
        return Direction.TO_INTEGRATION if side is Side.LOCAL else Direction.FROM_INTEGRATION


class ConflictPolicy(StrEnum):
    """What to do when the same bidirectional field changed to different values on both sides."""

    NONE = "none"  # park the conflict: the record is not written until a user resolves it
    LOCAL_WINS = "local-wins"
    INTEGRATION_WINS = "integration-wins"

    @property
    def winner(self) -> Side | None:
        if self is ConflictPolicy.LOCAL_WINS:
            return Side.LOCAL
        if self is ConflictPolicy.INTEGRATION_WINS:
            return Side.INTEGRATION
        return None


class DeletionPolicy(StrEnum):
    """What to do with a coupled record whose partner no longer exists."""

    NONE = "none"  # fail the record with a clear message
    RESTORE = "restore"  # re-create the partner from the survivor and re-couple
    REMOVE_COUPLING = "remove-coupling"


class DeletePropagation(StrEnum):
    IGNORE = "ignore"  # a deleted record is only noticed as a missing partner (Business Central's behaviour)
    PROPAGATE = "propagate"  # reported deletions delete the partner; inferred ones wait for approval


class Operator(StrEnum):
    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    IN = "in"
    NOT_IN = "not_in"
    IS_NULL = "is_null"
    NOT_NULL = "not_null"
    STARTSWITH = "startswith"
    CONTAINS = "contains"


@dataclass(frozen=True, kw_only=True, slots=True)
class Condition:
    """One structured filter condition on a column. A table filter is a tuple of conditions, all of which hold."""

    field: str
    op: Operator = Operator.EQ
    value: Any = None

    def matches(self, values: Mapping[str, Any]) -> bool:
        actual = values.get(self.field)
        op = self.op
        if op is Operator.IS_NULL:
            return actual is None
        if op is Operator.NOT_NULL:
            return actual is not None
        if op is Operator.IN:
            return actual in self.value
        if op is Operator.NOT_IN:
            return actual not in self.value
        if op is Operator.EQ:
            return bool(actual == self.value)
        if op is Operator.NE:
            return bool(actual != self.value)
        if actual is None:
            return False
        if op is Operator.STARTSWITH:
            return str(actual).startswith(str(self.value))
        if op is Operator.CONTAINS:
            return str(self.value) in str(actual)
        comparisons = {
            Operator.LT: lambda a, b: a < b,
            Operator.LE: lambda a, b: a <= b,
            Operator.GT: lambda a, b: a > b,
            Operator.GE: lambda a, b: a >= b,
        }
        return bool(comparisons[op](actual, self.value))


def words(name: str) -> str:
    """A column's name in words: "customerNumber" -> "Customer number", "address1_city" -> "Address1 city"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").strip()
    return spaced[:1].upper() + spaced[1:].lower() if spaced else name


def matches_all(conditions: Iterable[Condition], values: Mapping[str, Any]) -> bool:
    return all(condition.matches(values) for condition in conditions)


@dataclass(frozen=True, kw_only=True, slots=True)
class TableSpec:
    """One side of a table mapping: what a connector needs to know to read and write that table."""

    table: str
    key: str
    modified_on: str | None = None
    display_key: str | None = None
    filter: tuple[Condition, ...] = ()
    alternate_key: str | None = None
    """A column that names one record as its key does, with a value the writer chooses and the system keeps (a
    customer number). Where the system assigns keys, a record created with a value in it is found again by it after
    an interrupted creation; None leaves the choice to the connector (``Connector.alternate_key``)."""
    caption: str | None = None
    """What a user calls the table's records ("Customer", "Account"), shown instead of the table's name."""
    name_field: str | None = None
    """The column that names a record beside its display key (a customer's name, where the display key is its
    number); None when the display key is the name."""

    def matches(self, values: Mapping[str, Any]) -> bool:
        return matches_all(self.filter, values)

    def failed(self, values: Mapping[str, Any]) -> tuple[Condition, ...]:
        """The conditions of the filter these values do not meet (none: the record is inside the filter)."""
        return tuple(c for c in self.filter if not c.matches(values))

    @property
    def title(self) -> str:
        """The table as a user knows it: its caption, else its name."""
        return self.caption or self.table


@dataclass(frozen=True, kw_only=True, slots=True)
class Lookup:
    """A field that refers to a record of another mapping, translated through that mapping's couplings.

    ``local_by`` is the column of the referenced local table the local field holds (e.g. a salesperson's ``code``),
    ``integration_by`` the same on the integration side (e.g. ``systemuserid``); None means the referenced table's key.
    """

    mapping: str
    local_by: str | None = None
    integration_by: str | None = None

    def by(self, side: Side) -> str | None:
        return self.local_by if side is Side.LOCAL else self.integration_by


@dataclass(frozen=True, kw_only=True, slots=True)
class FieldMapping:
    """A pair of fields. ``constant`` replaces the source field: the target gets that value.

    ``match_priority`` puts the pair in a match-based coupling group (lower first); ``lookup`` translates the value
    through another mapping's couplings; ``clear_on_failed_lookup`` writes null instead of failing the record when the
    referenced record is not coupled; ``not_null`` never writes a null; ``transforms`` change the value on its way.
    """

    local: str | None
    integration: str | None
    direction: Direction
    enabled: bool = True
    constant: Any = None
    has_constant: bool = False
    match_priority: int | None = None
    case_sensitive: bool = False
    lookup: Lookup | None = None
    clear_on_failed_lookup: bool = False
    not_null: bool = False
    transforms: tuple[Transform, ...] = ()
    caption: str | None = None
    """What a user calls the field ("Post Code", "Credit Limit (LCY)"), shown instead of the API field names."""

    @property
    def pair(self) -> str:
        """A stable name for the pair, used as its key in fingerprints and conflicts."""
        return f"{self.local or ''}|{self.integration or ''}"

    def field(self, side: Side) -> str | None:
        return self.local if side is Side.LOCAL else self.integration

    def flows(self, direction: Direction) -> bool:
        """Whether this field mapping transfers data in the one-way ``direction``."""
        return self.enabled and self.direction.allows(direction) and self.field(direction.target) is not None

    @property
    def label(self) -> str:
        return f"{self.local or '(constant)'} <-> {self.integration or '(constant)'}"

    @property
    def title(self) -> str:
        """The field as a user knows it: its caption, else the field it maps (the local one first)."""
        return self.caption or self.local or self.integration or "(constant)"


@dataclass(frozen=True, kw_only=True, slots=True)
class TableMapping:
    """A table mapping, named like Business Central's (CUSTOMER, CONTACT ...)."""

    name: str
    local: TableSpec
    integration: TableSpec
    direction: Direction
    fields: tuple[FieldMapping, ...]
    sync_only_coupled: bool = True
    depends_on: tuple[str, ...] = ()
    update_conflict: ConflictPolicy = ConflictPolicy.NONE
    deletion_conflict: DeletionPolicy = DeletionPolicy.NONE
    delete: DeletePropagation = DeletePropagation.IGNORE

    def require(self, direction: Direction) -> Direction:
        """``direction`` if data may flow that way under this mapping; a UsageError saying why not otherwise."""
        if not self.direction.allows(direction):
            raise UsageError(
                f"{self.name} synchronizes {self.direction.value}; it cannot synchronize {direction.value}."
            )
        return direction

    def spec(self, side: Side) -> TableSpec:
        return self.local if side is Side.LOCAL else self.integration

    def label(self, side: Side, key: str, values: Mapping[str, Any], *, system: str) -> str:
        """How a user knows a record in a message: its ``system``'s name, its table's caption, its display key and
        name ("Business Central Customer C00020 Trey Research", "Dynamics 365 Sales Account Trey Research")."""
        return f"{self.records_of(side, system)} {self.title(side, key, values)}"

    def records_of(self, side: Side, system: str) -> str:
        """The ``side`` table as a user knows it, with its system's name ("Business Central Customer")."""
        return f"{system} {self.spec(side).title}"

    def title(self, side: Side, key: str, values: Mapping[str, Any]) -> str:
        """How a user knows a record of ``side``: its display key (else its key) and its name, when the side names
        one and it differs ("C00020 Trey Research")."""
        spec = self.spec(side)
        shown = values.get(spec.display_key) if spec.display_key else None
        first = str(shown) if shown not in (None, "") else key
        name = values.get(spec.name_field) if spec.name_field else None
        return f"{first} {name}" if name not in (None, "") and str(name) != first else first

    def caption_of(self, side: Side, field: str) -> str:
        """How a user knows the ``side`` column ``field``: the caption of a field mapping of it, else the column's
        name in words ("customerNumber" -> "Customer number")."""
        for mapping in self.fields:
            if mapping.caption and mapping.field(side) == field:
                return mapping.caption
        return words(field)

    def pair_title(self, pair: str) -> str:
        """How a user knows the field mapping named ``pair`` (``FieldMapping.pair``): its title, else the pair's
        fields ("City", "city/address1_city")."""
        for mapping in self.fields:
            if mapping.pair == pair:
                return mapping.title
        return pair.replace("|", "/")

    def fields_for(self, direction: Direction) -> tuple[FieldMapping, ...]:
        return tuple(f for f in self.fields if f.flows(direction))

    def match_fields(self, direction: Direction) -> tuple[str, ...]:
        """The target's fields of the match fields (``match`` priorities) that flow in ``direction``, lowest
        priority first: what tells two records apart, as `coupler match` pairs them."""
        chosen = sorted(
            (f for f in self.fields_for(direction) if f.match_priority is not None and not f.has_constant),
            key=lambda f: f.match_priority or 0,
        )
        return tuple(dict.fromkeys(name for f in chosen if (name := f.field(direction.target))))

    def columns(self, side: Side) -> tuple[str, ...]:
        """Every column of ``side`` that coupler reads: key, modified-on, display key, mapped and filtered fields."""
        spec = self.spec(side)
        names: dict[str, None] = {spec.key: None}
        for extra in (spec.modified_on, spec.display_key):
            if extra:
                names[extra] = None
        for mapping in self.fields:
            name = mapping.field(side)
            if name and mapping.enabled:
                names[name] = None
        for condition in spec.filter:
            names[condition.field] = None
        if spec.name_field:
            names[spec.name_field] = None
        return tuple(names)

    @property
    def bidirectional_fields(self) -> tuple[FieldMapping, ...]:
        return tuple(
            f
            for f in self.fields
            if f.enabled and f.direction is Direction.BIDIRECTIONAL and not f.has_constant and f.local and f.integration
        )
