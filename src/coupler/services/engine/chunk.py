"""Synchronizing one chunk of source records (a page as the connector read it) in one direction: plan every pair,
write in batches, save the state.

Per chunk: the couplings (one query), the coupled targets (one read), the plans, the target's updates and creations
(one batch each), then couplings, conflicts, failures, pending deletions, errors and the job's counters in one
transaction. After every write the target's new modified-on and the pair's fingerprint are stored, so coupler's own
writes are never read back as changes; a source record that its system says coupler changed last, and that still
holds its fingerprint's values, is an echo too (``planning.echo``): only its new modified-on is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.deletions import MissingPartner, on_missing_partner
from coupler.domain.errors import AlreadyCoupled
from coupler.domain.fingerprint import encode
from coupler.domain.mapping import Direction
from coupler.domain.planning import Action, Plan, echo, plan_pair, source_changed
from coupler.domain.records import Record, RecordUpdate, WriteResult
from coupler.domain.state import Conflict, ConflictKey, FailureKey, IntentKey, PendingDeletion, RecordFailure
from coupler.domain.transfer import MissingReference
from coupler.domain.transforms.pipeline import TransformError
from coupler.services.context import Systems
from coupler.services.engine.creation import Creator
from coupler.services.engine.lookups import LookupResolver
from coupler.services.engine.one_way import CREATED_MEMORY, ChunkWork, OneWayRun, stamps
from coupler.services.wording import AWAITS_APPROVAL

__all__ = ["ChunkSync"]


class ChunkSync:
    def __init__(self, systems: Systems) -> None:
        self.systems = systems
        self.creator = Creator(systems)
        self.lookups = LookupResolver(systems)

    def process(self, run: OneWayRun, records: Sequence[Record]) -> None:
        if not records:
            return
        work = ChunkWork()
        pairs = self._select(run, records, work)
        work.resolved = self.lookups.resolve(run.moves, run.direction, [*(r for r, _ in pairs), *work.creations])
        targets = work.targets = self._targets(run, [coupling for _, coupling in pairs])
        for record, coupling in pairs:
            self._plan(run, coupling, record, targets.get(coupling.key(run.target)), work)
        self._write_updates(run, work)
        self._create(run, work)
        self._restore(run, work)
        self._save(run, work, len(records))

    def _save(self, run: OneWayRun, work: ChunkWork, done: int) -> None:
        if work.decoupled:
            self.systems.store.couplings.remove(run.mapping.name, work.decoupled)
        if work.recoupled:
            self.systems.store.couplings.add(work.recoupled)
        if work.withdrawn:
            self.systems.store.attention.remove_pending_deletions(run.mapping.name, run.target, work.withdrawn)
        try:
            run.recorder.flush(work.changes())
            run.recorder.counters.coupled += len(work.created)
            _remember_created(run, work.created)
            coupled = work.created
        except AlreadyCoupled:  # a concurrent change took a key: couple one by one, the others still land
            run.recorder.flush(work.changes(with_created=False))
            coupled = self.creator.couple(run, work.created)
            settled = [intent.source_key for intent in work.done_intents]
            self.systems.store.cursors.drop_intents(run.mapping.name, run.direction, settled)
        if coupled and self.creator.stamps(run):
            run.to_stamp.extend(c.key(run.source) for c in coupled)
        if run.counted:
            self.systems.progress.advance(done)

    def restore(self, run: OneWayRun, couplings: Sequence[Coupling]) -> None:
        """Re-create the missing targets of these couplings from their sources (which must still exist)."""
        if not couplings:
            return
        source_spec, target_spec = run.mapping.spec(run.source), run.mapping.spec(run.target)
        sources = {
            r.key: r
            for r in self.systems.connector(run.source).read(
                source_spec, [c.key(run.source) for c in couplings], columns=run.mapping.columns(run.source)
            )
        }
        present = {
            r.key
            for r in self.systems.connector(run.target).read(
                target_spec, [c.key(run.target) for c in couplings], columns=(target_spec.key,)
            )
        }
        work = ChunkWork()
        for coupling in couplings:
            source = sources.get(coupling.key(run.source))
            if source is not None and coupling.key(run.target) not in present:
                work.restorations.append((coupling, source))
        work.resolved = self.lookups.resolve(run.moves, run.direction, [source for _, source in work.restorations])
        self._restore(run, work)
        self._save(run, work, 0)

    # choosing what to look at ------------------------------------------------------------------------------
    def _select(self, run: OneWayRun, records: Sequence[Record], work: ChunkWork) -> list[tuple[Record, Coupling]]:
        if run.just_created:  # read back as the other pass wrote them a moment ago: in sync, nothing to look up
            fresh = run.just_created
            records = [r for r in records if r.modified_on is None or fresh.get(r.key) != r.modified_on]
            if not records:
                return []
        couplings = self.systems.store.couplings.find(run.mapping.name, run.source, [r.key for r in records])
        pairs: list[tuple[Record, Coupling]] = []
        for record in records:
            coupling = couplings.get(record.key)
            if coupling is None:
                if run.create:
                    work.creations.append(record)
            elif self.handled(run, coupling):
                continue
            elif run.manual:
                pairs.append((record, replace(coupling, skipped=False)))
            elif not run.reconsider and (seen := echo(run.mapping, coupling, run.direction, record)) is not None:
                work.couplings.append(seen)  # coupler's own write read back: no partner read, no write
            elif run.reconsider or source_changed(coupling, run.direction, record.modified_on):
                pairs.append((record, coupling))
        return pairs

    @staticmethod
    def handled(run: OneWayRun, coupling: Coupling) -> bool:
        """Already done in this job: by this pass, or failed or parked in the other pass (reported once). When
        resolving a conflict the reverse pass still runs: the side chosen for some fields may be its source."""
        if coupling.job(run.direction) == run.job_id:
            return True
        if run.reconsider:
            return False
        reverse = Direction.from_source(run.target)
        return coupling.job(reverse) == run.job_id and coupling.result(reverse) in (
            SyncResult.FAILURE,
            SyncResult.CONFLICT,
        )

    def _targets(self, run: OneWayRun, couplings: Sequence[Coupling]) -> dict[str, Record]:
        if not couplings:
            return {}
        spec, columns = run.mapping.spec(run.target), run.mapping.columns(run.target)
        keys = [c.key(run.target) for c in couplings]
        return {r.key: r for r in self.systems.connector(run.target).read(spec, keys, columns=columns)}

    # planning ----------------------------------------------------------------------------------------------
    def _plan(self, run: OneWayRun, coupling: Coupling, source: Record, target: Record | None, work: ChunkWork) -> None:
        try:
            plan = plan_pair(
                mapping=run.mapping,
                coupling=coupling,
                direction=run.direction,
                source=source,
                target=target,
                forced=run.forced,
                moves=run.moves,
                winners=run.winners,
                reconsider=run.reconsider,
                resolved=work.resolved,
            )
            run.moves.check(plan.values)
        except (TransformError, MissingReference) as error:
            waiting = isinstance(error, MissingReference)  # retried until the referenced record is coupled
            message = f"{run.label(source)}: {error}"
            work.couplings.append(self.fail(run, coupling, message, retryable=waiting))
            return
        counters = run.recorder.counters
        if plan.action is Action.IN_SYNC:
            return
        if plan.action is Action.SKIPPED:
            counters.skipped += 1
        elif plan.action is Action.TARGET_MISSING:
            self._partner_missing(run, coupling, source, work)
        elif plan.action is Action.CONFLICT and not plan.values:
            work.couplings.append(self._park(run, coupling, source, plan, work))
        elif plan.action is Action.UNCHANGED:
            assert target is not None
            counters.unchanged += 1
            stored = self._synced(run, coupling, source, target.modified_on, plan, work)
            if _state(stored) != _state(coupling):
                work.couplings.append(stored)
        else:
            assert target is not None
            work.updates.append(RecordUpdate(key=target.key, values=plan.values, version=target.version))
            work.updated.append((coupling, source, plan))

    def _synced(
        self,
        run: OneWayRun,
        coupling: Coupling,
        source: Record,
        target_on: datetime | None,
        plan: Plan,
        work: ChunkWork,
    ) -> Coupling:
        """The coupling after a successful pass. While the target holds changes of its own that the reverse pass
        must still carry back, its old modified-on is kept so that the reverse pass looks at it."""
        awaiting = plan.pending and not run.forced
        if awaiting:
            target_on = coupling.modified_on(run.target)
        local_on, integration_on = stamps(run.source, source.modified_on, target_on)
        if coupling.in_conflict and not plan.conflicts:
            work.settled.append(ConflictKey(mapping=run.mapping.name, local_key=coupling.local_key))
        synced = coupling.succeeded(
            direction=run.direction,
            job_id=run.job_id,
            at=self.systems.clock(),
            local_modified_on=local_on,
            integration_modified_on=integration_on,
            fingerprint=encode(plan.fingerprint) if plan.fingerprint is not None else None,
            settles=run.forced,
        )
        if awaiting and run.mapping.direction.allows(Direction.from_source(run.target)):
            synced = synced.awaiting(Direction.from_source(run.target))  # the target's own changes go back next
        return synced

    def _park(self, run: OneWayRun, coupling: Coupling, source: Record, plan: Plan, work: ChunkWork) -> Coupling:
        """Park a conflict: nothing is written; it waits in `coupler conflicts` until a user resolves it."""
        if not (coupling.in_conflict and run.job_id in (coupling.to_integration_job, coupling.from_integration_job)):
            run.recorder.counters.conflicts += 1  # once per record and job, whichever pass finds it
        message = f"{run.label(source)}: {plan.message(run.mapping)}"
        if not (coupling.in_conflict and coupling.last_error == message):  # new: say it once, not every run
            run.recorder.error(message=message, local_key=coupling.local_key, integration_key=coupling.integration_key)
        work.conflicts.append(
            Conflict(
                mapping=run.mapping.name,
                local_key=coupling.local_key,
                integration_key=coupling.integration_key,
                fields=plan.conflicts,
                detected_at=self.systems.clock(),
                job_id=run.job_id,
            )
        )
        return coupling.conflicted(direction=run.direction, job_id=run.job_id, message=message)

    def _partner_missing(self, run: OneWayRun, coupling: Coupling, source: Record, work: ChunkWork) -> None:
        """The coupled target no longer exists: the mapping's deletion policy decides (``on_missing_partner``)."""
        mapping, counters = run.mapping, run.recorder.counters
        gone = coupling.key(run.target)
        decision = on_missing_partner(mapping)
        if decision is MissingPartner.AWAIT_APPROVAL:
            counters.skipped += 1
            message = (
                f"{run.label(source)}: its coupled {run.target_records} no longer exists; deleting this record "
                f"too {AWAITS_APPROVAL}."
            )
            run.recorder.error(message=message, local_key=coupling.local_key, integration_key=coupling.integration_key)
            # marked (never skipped for it), so that this job reports it once, and later runs look again
            work.couplings.append(
                coupling.failed(direction=run.direction, job_id=run.job_id, message=message, retryable=True)
            )
            work.deletions.append(
                PendingDeletion(
                    mapping=mapping.name,
                    side=run.target,
                    deleted_key=gone,
                    survivor_key=source.key,
                    detected_at=self.systems.clock(),
                    job_id=run.job_id,
                )
            )
        elif decision is MissingPartner.RESTORE:
            work.restorations.append((coupling, source))
        elif decision is MissingPartner.DECOUPLE:
            counters.uncoupled += 1
            work.decoupled.append(coupling.local_key)
        else:  # MissingPartner.FAIL
            message = (
                f"{run.label(source)}: cannot be synchronized because its coupled {run.target_records} was "
                "deleted. Decouple it, or couple it with another record."
            )
            work.couplings.append(self.fail(run, coupling, message))

    def fail(
        self, run: OneWayRun, coupling: Coupling, message: str, detail: str | None = None, *, retryable: bool = False
    ) -> Coupling:
        run.recorder.counters.failed += 1
        run.recorder.error(
            message=message, local_key=coupling.local_key, integration_key=coupling.integration_key, detail=detail
        )
        return coupling.failed(direction=run.direction, job_id=run.job_id, message=message, retryable=retryable)

    # writing -----------------------------------------------------------------------------------------------
    def _write_updates(self, run: OneWayRun, work: ChunkWork) -> None:
        if not work.updates:
            return
        target = self.systems.connector(run.target)
        results = target.update(run.mapping.spec(run.target), work.updates)
        for (coupling, source, plan), result in zip(work.updated, results, strict=True):
            if not result.ok:
                message = reject_message(run, source, result)
                work.couplings.append(self.fail(run, coupling, message, result.detail, retryable=result.retryable))
                continue
            run.recorder.counters.modified += 1
            written = coupling.key(run.target)
            run.wrote(source, plan.values, key=written, before=work.targets.get(written))
            if plan.overwritten:
                fields = ", ".join(run.mapping.pair_title(pair) for pair in plan.overwritten)
                run.recorder.notice(
                    f"{run.label(source)}: overwrote {fields}, changed in {run.system(run.target)} since the last "
                    "synchronization."
                )
            synced = self._synced(run, coupling, source, result.modified_on, plan, work)
            if plan.action is Action.CONFLICT:  # a partial resolution: the remaining fields stay parked
                synced = replace(coupling, fingerprint=synced.fingerprint)
                synced = self._park(run, synced, source, plan, work)
            work.couplings.append(synced)

    def _create(self, run: OneWayRun, work: ChunkWork) -> None:
        if not work.creations:
            return
        store, mapping = self.systems.store, run.mapping
        keys = [r.key for r in work.creations]
        known = store.attention.failures_of(mapping.name, run.source, keys) if run.earlier_failures else {}
        sources = [r for r in work.creations if run.manual or not (r.key in known and known[r.key].skipped)]
        run.recorder.counters.skipped += len(work.creations) - len(sources)
        results, work.created = self.creator.prepare(run, sources, work.resolved)
        # a failed creation keeps its intent: whether the system acted is not always known, so the next run reads
        # the record back before it creates it again
        work.done_intents = [
            IntentKey(mapping=mapping.name, direction=run.direction, source_key=source.key)
            for source, result in results
            if result.ok
        ]
        for source, result in results:
            if result.ok:
                if source.key in known:
                    work.cleared.append(FailureKey(mapping=mapping.name, side=run.source, key=source.key))
                continue
            message = reject_message(run, source, result)
            run.recorder.counters.failed += 1
            run.recorder.error(message=message, detail=result.detail, **{f"{run.source.value}_key": source.key})
            previous = known.get(source.key)
            now = self.systems.clock()
            work.failures.append(
                previous.again(message=message, job_id=run.job_id, at=now, retryable=result.retryable)
                if previous
                else RecordFailure(
                    mapping=mapping.name, side=run.source, key=source.key, message=message, job_id=run.job_id, at=now
                )
            )

    def _restore(self, run: OneWayRun, work: ChunkWork) -> None:
        """Deletion policy "restore": re-create the missing target from the survivor and re-couple it; a deletion
        of the survivor waiting for approval is withdrawn (the user keeps the pair)."""
        if not work.restorations:
            return
        sources = [source for _, source in work.restorations]
        results = self.creator.insert(run, sources, work.resolved)
        for (coupling, source), result in zip(work.restorations, results, strict=True):
            if not result.ok or result.key is None:
                reason = result.error or "no reason given"
                message = f"{run.label(source)}: its deleted partner could not be restored: {reason}"
                work.couplings.append(self.fail(run, coupling, message, result.detail))
                continue
            run.recorder.counters.inserted += 1
            work.decoupled.append(coupling.local_key)
            work.withdrawn.append(coupling.key(run.target))
            restored = self.creator.coupling_for(run, source, result, work.resolved)
            work.recoupled.append(replace(restored, coupled_at=coupling.coupled_at))


def _remember_created(run: OneWayRun, created: Sequence[Coupling]) -> None:
    """Note the records just created in the target (as saved), so that the job's other pass, which reads them back
    from that side, knows them without a state-store lookup."""
    room = CREATED_MEMORY - len(run.created)
    for coupling in created[: max(room, 0)]:
        stamp = coupling.modified_on(run.target)
        if stamp is not None:
            run.created[coupling.key(run.target)] = stamp


def reject_message(run: OneWayRun, source: Record, result: WriteResult) -> str:
    reason = result.error or "no reason given"
    if result.extra.get("stage") == "values":  # never sent: its values could not be built
        return f"{run.label(source)}: {reason}"
    return f"{run.label(source)}: {run.system(run.target)} refused the record: {reason}"


def _state(coupling: Coupling) -> tuple[object, ...]:
    """What a sync changes in a coupling, job ids and times aside."""
    return (
        coupling.local_modified_on,
        coupling.integration_modified_on,
        coupling.to_integration_result,
        coupling.from_integration_result,
        coupling.last_error,
        coupling.skipped,
        coupling.fingerprint,
    )
