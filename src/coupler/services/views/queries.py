"""What a user reads: the mappings overview, one record's coupling status, the job log and its errors."""

from __future__ import annotations

from dataclasses import dataclass, replace

from coupler.domain.coupling import Coupling
from coupler.domain.jobs import JobError
from coupler.domain.mapping import Direction, Side, TableMapping
from coupler.domain.records import Record
from coupler.ports.store import CouplingStats
from coupler.services.context import Systems
from coupler.services.records import find_record, resolve_couplings

__all__ = ["MappingOverview", "RecordStatus", "mapping_overview", "record_status"]


@dataclass(frozen=True, kw_only=True, slots=True)
class MappingOverview:
    """A table mapping with its coupling statistics."""

    mapping: TableMapping
    stats: CouplingStats

    @property
    def name(self) -> str:
        return self.mapping.name

    @property
    def direction(self) -> Direction:
        return self.mapping.direction


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordStatus:
    """A record named by ``ref``: its coupling, both records (None when gone) and its recent errors."""

    mapping: str
    ref: str
    coupling: Coupling | None
    local: Record | None
    integration: Record | None
    errors: tuple[JobError, ...]


def mapping_overview(systems: Systems) -> list[MappingOverview]:
    return [MappingOverview(mapping=m, stats=systems.store.stats(m.name)) for m in systems.in_dependency_order()]


def record_status(systems: Systems, name: str, ref: str) -> RecordStatus:
    """The coupling of the record ``ref`` names (either side, primary or display key) and both records."""
    mapping = systems.mapping(name)
    item = resolve_couplings(systems, mapping, [ref])[0]
    coupling = item.coupling
    local = integration = None
    if coupling is not None:
        local = next(iter(_read(systems, mapping, Side.LOCAL, coupling.local_key)), None)
        integration = next(iter(_read(systems, mapping, Side.INTEGRATION, coupling.integration_key)), None)
    elif item.side is not None:
        record = item.record or find_record(systems, mapping, item.side, ref)
        local, integration = (record, None) if item.side is Side.LOCAL else (None, record)
    errors: tuple[JobError, ...] = ()
    if coupling is not None:
        errors = tuple(systems.store.jobs.errors(mapping=mapping.name, key=coupling.local_key, limit=5))
    return RecordStatus(
        mapping=mapping.name, ref=ref, coupling=coupling, local=local, integration=integration, errors=errors
    )


def _read(systems: Systems, mapping: TableMapping, side: Side, key: str) -> list[Record]:
    spec = replace(mapping.spec(side), filter=())
    return systems.connector(side).read(spec, [key], columns=mapping.columns(side))
