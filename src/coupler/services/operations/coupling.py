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
from coupler.services.records import require_record, resolve_couplings

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
        mapping = self.systems.mapping(name)
        direction = mapping.require(Direction.from_source(source))
        record = self._uncoupled(mapping, source, ref)
        recorder = JobRecorder.start(self.systems, mapping=mapping.name, kind=JobKind.CREATE, direction=direction)
        with recorder.stopping_on_error():
            lengths = self.systems.lengths(direction.target, mapping.spec(direction.target).table)
            run = OneWayRun(
                mapping=mapping, direction=direction, recorder=recorder, mode=Mode.SYNC_NOW, lengths=lengths
            )
            resolved = LookupResolver(self.systems).resolve(run.moves, direction, [record])
            [(_, result)] = Creator(self.systems).create(run, [record], resolved)
            if not result.ok or result.key is None:
                recorder.counters.failed += 1
                recorder.error(
                    message=reject_message(run, record, result),
                    detail=result.detail,
                    **{f"{source.value}_key": record.key},
                )
                return recorder.finish()
        target = f"{self.systems.name(direction.target)} {mapping.spec(direction.target).title}"
        made_from = mapping.title(source, record.key, record.values)
        return recorder.finish(f"Created the {target} from {made_from} and coupled them.")

    def decouple(self, name: str, refs: Sequence[str]) -> JobReport:
        """Remove couplings; the records themselves stay untouched. Unknown or uncoupled references are reported."""
        mapping = self.systems.mapping(name)
        recorder = JobRecorder.start(self.systems, mapping=mapping.name, kind=JobKind.DECOUPLE, direction="-")
        with recorder.stopping_on_error():
            local_keys = []
            for item in resolve_couplings(self.systems, mapping, refs):
                if item.coupling is None:
                    recorder.counters.failed += 1
                    what = "is not coupled" if item.record else f"names no record in {self.systems.either}"
                    recorder.error(message=f"{item.ref!r} {what}.", local_key=item.ref)
                    continue
                local_keys.append(item.coupling.local_key)
            recorder.counters.uncoupled += self.systems.store.couplings.remove(mapping.name, local_keys)
        return recorder.finish()

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
