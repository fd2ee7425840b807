"""Checking the connection: both systems answer, and every mapped table and column exists; and a warning for each
table whose records cannot be created safely (see ``unsafe_creations``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from coupler.domain.errors import CouplerError
from coupler.domain.mapping import Side, TableMapping
from coupler.ports.metadata import KeepsMetadata
from coupler.services.context import Systems

__all__ = [
    "CheckReport",
    "SystemFinding",
    "SystemStatus",
    "check_systems",
    "mapped_tables",
    "preflights",
    "schema_problems",
    "unsafe_creations",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class SystemStatus:
    role: str
    name: str
    ok: bool
    message: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SystemFinding:
    """One line of a system's preflight, with the system it is about."""

    role: str
    name: str
    topic: str
    ok: bool
    message: str
    advice: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckReport:
    """Whether both systems and the state store answer, and what the configuration names that they lack."""

    systems: tuple[SystemStatus, ...]
    problems: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    """What works but is not safe (records whose creation cannot be made safe to repeat); never makes ``ok`` false."""
    findings: tuple[SystemFinding, ...] = ()
    """The systems' preflights (API version, local and base currency, sign-in ...), when asked for."""

    @property
    def ok(self) -> bool:
        return not self.problems and all(s.ok for s in self.systems) and all(f.ok for f in self.findings)


def _named_columns(mapping: TableMapping, side: Side) -> Iterator[tuple[str, str]]:
    """(config key, column) for every column a mapping names on ``side``."""
    spec = mapping.spec(side)
    yield f"{side.value}.key", spec.key
    if spec.modified_on:
        yield f"{side.value}.modified_on", spec.modified_on
    if spec.display_key:
        yield f"{side.value}.display_key", spec.display_key
    if spec.alternate_key:
        yield f"{side.value}.alternate_key", spec.alternate_key
    for index, condition in enumerate(spec.filter):
        yield f"{side.value}.filter[{index}].field", condition.field
    for index, field in enumerate(mapping.fields):
        name = field.field(side)
        if name:
            yield f"fields[{index}].{side.value}", name


def schema_problems(systems: Systems, origin: str) -> list[str]:
    """One message per mapped table or column that does not exist, naming the file, the mapping and the key."""
    problems = []
    for mapping in systems.mappings:
        for side in Side:
            connector = systems.connector(side)
            spec = mapping.spec(side)
            columns = connector.describe(spec.table)
            if columns is None:
                problems.append(
                    f"{origin}: mapping {mapping.name}, key {side.value}.table: {connector.display_name} has no "
                    f"table {spec.table!r}"
                )
                continue
            for key, column in _named_columns(mapping, side):
                if column not in columns:
                    problems.append(
                        f"{origin}: mapping {mapping.name}, key {key}: table {spec.table!r} of "
                        f"{connector.display_name} has no column {column!r}"
                    )
    return problems


def unsafe_creations(systems: Systems, origin: str) -> list[str]:
    """One warning per mapping and direction that creates records in a table whose system assigns the keys, when
    the records sent hold no value to find a created record again by: no alternate key and no match field. A run
    interrupted between creating such records and coupling them (a lost answer, a killed process) cannot tell them
    from others, so the next run may create them again."""
    warnings = []
    for mapping in systems.mappings:
        for direction in mapping.direction.one_way:
            target = direction.target
            connector, spec = systems.connector(target), mapping.spec(target)
            if connector.describe(spec.table) is None or not connector.assigns_keys(spec):
                continue
            sent = {f.field(target) for f in mapping.fields_for(direction)}
            alternate = connector.alternate_key(spec)
            if alternate in sent or mapping.match_fields(direction):
                continue
            why = f"its alternate key {alternate!r} is not mapped" if alternate else "it has no alternate key"
            warnings.append(
                f"{origin}: mapping {mapping.name}, {direction.value}: {connector.display_name} assigns the keys of "
                f"{spec.table!r}, and coupler sends no value to find a created record again by ({why}, and no "
                f"field has `match`): a run interrupted between creating records there and coupling them may create "
                f"them twice. Map a field {direction.value} to an alternate key ({target.value}.alternate_key), or "
                "give a field `match = 1`."
            )
    return warnings


def mapped_tables(systems: Systems, side: Side) -> dict[str, list[str]]:
    """Each table the mappings name on ``side``, with the columns they name there."""
    tables: dict[str, list[str]] = {}
    for mapping in systems.mappings:
        columns = tables.setdefault(mapping.spec(side).table, [])
        columns.extend(c for _, c in _named_columns(mapping, side) if c not in columns)
    return tables


def preflights(systems: Systems) -> list[SystemFinding]:
    """What each system's own preflight finds, for the tables and columns the mappings name there."""
    found = []
    for side in Side:
        connector = systems.connector(side)
        for finding in connector.preflight(mapped_tables(systems, side)):
            found.append(
                SystemFinding(
                    role=side.value,
                    name=connector.display_name,
                    topic=finding.topic,
                    ok=finding.ok,
                    message=finding.message,
                    advice=finding.advice,
                )
            )
    return found


def check_systems(systems: Systems, origin: str, *, refresh: bool = False, preflight: bool = False) -> CheckReport:
    """With ``refresh``, each connector that keeps what it learnt about its system's schema (``KeepsMetadata``)
    forgets it first, so that the check, and the runs after it, read the schema as it is now. With ``preflight``,
    each system's own preflight is added (``Connector.preflight``: a few requests more, for `coupler check`)."""
    statuses = []
    reachable = True
    for role, connector in (("local", systems.local), ("integration", systems.integration)):
        try:
            if refresh and isinstance(connector, KeepsMetadata):
                connector.refresh_metadata()
            connector.ping()
            statuses.append(SystemStatus(role=role, name=connector.display_name, ok=True, message="connected"))
        except CouplerError as error:
            reachable = False
            statuses.append(SystemStatus(role=role, name=connector.display_name, ok=False, message=error.message))
    try:
        systems.store.jobs.recent(limit=1)
        statuses.append(SystemStatus(role="state", name="state store", ok=True, message="connected"))
    except CouplerError as error:
        statuses.append(SystemStatus(role="state", name="state store", ok=False, message=error.message))
    problems = schema_problems(systems, origin) if reachable else []
    warnings = unsafe_creations(systems, origin) if reachable and not problems else []
    findings = preflights(systems) if reachable and preflight else []
    return CheckReport(
        systems=tuple(statuses), problems=tuple(problems), warnings=tuple(warnings), findings=tuple(findings)
    )
