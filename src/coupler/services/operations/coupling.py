"""Coupling, creating-and-coupling and decoupling records."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from coupler.domain.coupling import Coupling
from coupler.domain.errors import AlreadyCoupled, RecordError
from coupler.domain.jobs import JobKind
from coupler.domain.mapping import Direction, Side, TableMapping
from coupler.domain.records import Record
from coupler.services.context import Systems
from coupler.services.engine.chunk import reject_message
from coupler.services.engine.creation import Creator
from coupler.services.engine.lookups import LookupResolver
from coupler.services.engine.one_way import Mode, OneWayRun
from coupler.services.engine.recorder import JobRecorder, JobReport
from coupler.services.engine.synchronize import Synchronizer
from coupler.services.records import left_out, require_known, require_record, resolve_couplings

__all__ = ["CouplingService"]


class CouplingService:
    def __init__(self, systems: Systems) -> None:
        self.systems = systems

    def couple(self, name: str, local_ref: str, integration_ref: str, *, sync_after: Side | None = None) -> JobReport:
        """Couple two existing records; optionally synchronize right after, using ``sync_after``'s data."""
        mapping = self.systems.mapping(name)
        local = self._uncoupled(mapping, Side.LOCAL, local_ref)
        integration = self._uncoupled(mapping, Side.INTEGRATION, integration_ref)
        direction = mapping.require(Direction.from_source(sync_after)) if sync_after else None
        recorder = JobRecorder.start(self.systems, mapping=mapping.name, kind=JobKind.COUPLE, direction="-")
        with recorder.stopping_on_error():
            coupling = Coupling(
                mapping=mapping.name,
                local_key=local.key,
                integration_key=integration.key,
                coupled_at=self.systems.clock(),
            )
            self.systems.store.couplings.add([coupling])
            recorder.counters.coupled += 1
            if direction is not None:
                Synchronizer(self.systems).sync_couplings(mapping, [coupling], direction=direction, recorder=recorder)
        local_title = mapping.title(Side.LOCAL, local.key, local.values)
        integration_title = mapping.title(Side.INTEGRATION, integration.key, integration.values)
        return recorder.finish(f"Coupled {local_title} with {integration_title}.")

    def create(self, name: str, ref: str, *, source: Side = Side.LOCAL) -> JobReport:
        """Create the counterpart of a ``source`` record on the other side from the mapped fields (transformations
        and lookups applied), and couple it."""
        return self.create_many(name, [ref], source=source)

    def create_many(self, name: str, refs: Sequence[str], *, source: Side = Side.LOCAL) -> JobReport:
        """Create the counterparts of ``source`` records (Synchronize now on records not coupled, confirmed) and
        couple them, in one job. Every reference is checked first (known, within the filter, not coupled): a refused
        one stops the action before any job starts."""
        mapping = self.systems.mapping(name)
        direction = mapping.require(Direction.from_source(source))
        if not refs:
            raise RecordError("Select at least one record to create.")
        records = list({r.key: r for r in (self._uncoupled(mapping, source, ref) for ref in refs)}.values())
        recorder = JobRecorder.start(self.systems, mapping=mapping.name, kind=JobKind.CREATE, direction=direction)
        created: list[Record] = []
        with recorder.stopping_on_error():
            lengths = self.systems.lengths(direction.target, mapping.spec(direction.target).table)
            run = OneWayRun(
                mapping=mapping, direction=direction, recorder=recorder, mode=Mode.SYNC_NOW, lengths=lengths
            )
            size = max(self.systems.batch_size, 1)
            for batch in (records[i : i + size] for i in range(0, len(records), size)):
                resolved = LookupResolver(self.systems).resolve(run.moves, direction, batch)
                for record, result in Creator(self.systems).create(run, batch, resolved):
                    if result.ok and result.key is not None:
                        created.append(record)
                        continue
                    recorder.counters.failed += 1
                    recorder.error(
                        message=reject_message(run, record, result),
                        detail=result.detail,
                        **{f"{source.value}_key": record.key},
                    )
                recorder.flush()
        if not created:
            return recorder.finish()
        target = f"{self.systems.name(direction.target)} {mapping.spec(direction.target).title}"
        if len(records) == 1:
            made_from = mapping.title(source, records[0].key, records[0].values)
            return recorder.finish(f"Created the {target} from {made_from} and coupled them.")
        return recorder.finish(f"Created {len(created):,} {target} records and coupled them.")

    def decouple(self, name: str, refs: Sequence[str]) -> JobReport:
        """Remove couplings; the records themselves stay untouched. A reference that names no record, or a
        selection with no coupled record, is refused before any job starts; records not coupled are left out
        (named in the job's message, not counted as failed)."""
        mapping = self.systems.mapping(name)
        resolved = resolve_couplings(self.systems, mapping, refs)
        require_known(self.systems, mapping, resolved)
        pairs = [(i.coupling.local_key, i.coupling.integration_key) for i in resolved if i.coupling is not None]
        local_keys = [local for local, _ in pairs]
        uncoupled = [item for item in resolved if item.coupling is None]
        if not local_keys:
            raise RecordError(left_out(self.systems, mapping, uncoupled, "decouple"))
        recorder = JobRecorder.start(self.systems, mapping=mapping.name, kind=JobKind.DECOUPLE, direction="-")
        with recorder.stopping_on_error():
            recorder.counters.uncoupled += self.systems.store.couplings.remove(mapping.name, local_keys)
            recorder.uncoupled(pairs)
        return recorder.finish(left_out(self.systems, mapping, uncoupled, "decouple") if uncoupled else None)

    def decouple_all(self, name: str) -> JobReport:
        """Decouple every coupled record of the mapping (Business Central's *Decouple all*); the records stay as
        they are. One job, batch by batch in local key order: each batch's couplings go with their parked conflicts
        in one transaction and the job's counters are saved right after, so a job stopped half-way (a system gone,
        a stop request) has removed whole batches and says how many."""
        mapping = self.systems.mapping(name)
        store, progress = self.systems.store, self.systems.progress
        recorder = JobRecorder.start(self.systems, mapping=mapping.name, kind=JobKind.DECOUPLE, direction="-")
        with recorder.stopping_on_error():
            progress.start(f"Decoupling {mapping.name}", store.stats(mapping.name).couplings)
            after: str | None = None
            while batch := store.couplings.page(mapping.name, after=after, limit=self.systems.batch_size):
                if self.systems.stop is not None and self.systems.stop.is_set():
                    return recorder.finish(f"Stopped on request after decoupling {recorder.counters.uncoupled}.")
                keys = [c.local_key for c in batch]
                recorder.counters.uncoupled += store.couplings.remove(mapping.name, keys)
                recorder.uncoupled([(c.local_key, c.integration_key) for c in batch])
                recorder.flush()
                progress.advance(len(keys))
                after = keys[-1]
        return recorder.finish(f"Decoupled every record of {mapping.name} ({recorder.counters.uncoupled}).")

    def _uncoupled(self, mapping: TableMapping, side: Side, ref: str) -> Record:
        record = require_record(self.systems, mapping, side, ref)
        spec = mapping.spec(side)
        system, title = self.systems.name(side), mapping.title(side, record.key, record.values)
        failed = spec.failed(record.values)
        if failed:
            values = ", ".join(f"{mapping.caption_of(side, c.field)} is {record.get(c.field)!r}" for c in failed)
            raise RecordError(
                f"{mapping.name}: the {system} {spec.title} {title} is outside the mapping's filter ({values}), so it "
                "cannot be coupled."
            )
        existing = self.systems.store.couplings.get(mapping.name, side, record.key)
        if existing is not None:
            other = side.other
            found = self.systems.connector(other).read(
                replace(mapping.spec(other), filter=()), [existing.key(other)], columns=mapping.columns(other)
            )
            partner = mapping.title(other, found[0].key, found[0].values) if found else existing.key(other)
            raise AlreadyCoupled(
                f"{mapping.name}: cannot couple the {system} {spec.title} {title}: it is already coupled to the "
                f"{self.systems.name(other)} {mapping.spec(other).title} {partner}. Decouple it first."
            )
        return record
