"""What needs a user's attention: parked conflicts, skipped records, pending deletions — and the actions that
settle them (resolve, retry, restore, approve)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from coupler.domain.coupling import Coupling
from coupler.domain.errors import RecordNotFound, UsageError
from coupler.domain.jobs import JobKind
from coupler.domain.mapping import Direction, Side, TableMapping
from coupler.domain.state import Conflict, ConflictField, PendingDeletion, RecordFailure, StateChanges
from coupler.services.context import Systems
from coupler.services.engine.chunk import ChunkSync
from coupler.services.engine.one_way import Mode, OneWayRun
from coupler.services.engine.recorder import JobRecorder, JobReport
from coupler.services.engine.synchronize import Synchronizer
from coupler.services.records import find_record, resolve_couplings
from coupler.services.wording import plural

__all__ = ["Attention", "SkippedRecord"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SkippedRecord:
    """A skipped record with both sides: its coupling (or the failed creation of an uncoupled record), whether each
    side still exists, and the error that made it skipped."""

    mapping: str
    local_key: str | None
    integration_key: str | None
    local_exists: bool
    integration_exists: bool
    error: str | None
    coupled: bool


class Attention:
    def __init__(self, systems: Systems) -> None:
        self.systems = systems

    # conflicts ---------------------------------------------------------------------------------------------
    def conflicts(self, mapping: str | None = None, *, limit: int = 100) -> list[Conflict]:
        name = self.systems.mapping(mapping).name if mapping else None
        return self.systems.store.attention.conflicts(name, limit=limit)

    def resolve(self, name: str, ref: str, *, use: Side, fields: Sequence[str] = ()) -> JobReport:
        """Settle a parked conflict: ``use``'s values win for the conflicting fields (all, or those named)."""
        mapping = self.systems.mapping(name)
        coupling = self._coupling(mapping, ref)
        conflict = self.systems.store.attention.conflict(mapping.name, coupling.local_key)
        if conflict is None:
            raise RecordNotFound(f"{mapping.name}: {ref!r} has no parked conflict.")
        chosen = conflict.fields
        if fields:
            wanted = set(fields)
            captions = {f.pair: f.caption for f in mapping.fields if f.caption}

            def named(f: ConflictField) -> set[str]:
                return {f.local_field, f.integration_field, f.pair, captions.get(f.pair, f.pair)}

            chosen = tuple(f for f in conflict.fields if wanted & named(f))
            unknown = wanted - {n for f in chosen for n in named(f)}
            if unknown:
                names = ", ".join(
                    f"{captions[f.pair]} ({f.local_field})" if f.pair in captions else f.local_field
                    for f in conflict.fields
                )
                raise UsageError(
                    f"{mapping.name}: {', '.join(sorted(unknown))} is not in conflict for {ref!r}; "
                    f"the conflicting fields are: {names}."
                )
        recorder = JobRecorder.start(self.systems, mapping=mapping.name, kind=JobKind.RESOLVE, direction="-")
        with recorder.stopping_on_error():
            winners = {f.pair: use for f in chosen}
            Synchronizer(self.systems).sync_couplings(
                mapping, [coupling], direction=None, recorder=recorder, winners=winners
            )
        captions = {f.pair: f.title for f in mapping.fields}
        won = ", ".join(captions.get(f.pair, f.local_field) for f in chosen)
        spec = replace(mapping.local, filter=())
        found = self.systems.local.read(spec, [coupling.local_key], columns=mapping.columns(Side.LOCAL))
        title = mapping.title(Side.LOCAL, found[0].key, found[0].values) if found else ref
        return recorder.finish(f"{title}: the {self.systems.name(use)} values won for {won}.")

    # skipped records ---------------------------------------------------------------------------------------
    def skipped(self, mapping: str | None = None, *, limit: int = 1000) -> list[SkippedRecord]:
        found: list[SkippedRecord] = []
        for table_mapping in self._mappings(mapping):
            couplings = self.systems.store.couplings.page(table_mapping.name, skipped=True, limit=limit)
            local = self._existing(table_mapping, Side.LOCAL, [c.local_key for c in couplings])
            integration = self._existing(table_mapping, Side.INTEGRATION, [c.integration_key for c in couplings])
            found.extend(
                SkippedRecord(
                    mapping=table_mapping.name,
                    local_key=c.local_key,
                    integration_key=c.integration_key,
                    local_exists=c.local_key in local,
                    integration_exists=c.integration_key in integration,
                    error=c.last_error,
                    coupled=True,
                )
                for c in couplings
            )
            for failure in self.systems.store.attention.failures(table_mapping.name, skipped=True, limit=limit):
                exists = bool(self._existing(table_mapping, failure.side, [failure.key]))
                found.append(_skipped_failure(failure, exists))
        return found

    def retry(self, name: str, refs: Sequence[str] = (), *, everything: bool = False) -> JobReport:
        """Take skipped records back into synchronization: the next run (or `coupler sync KEY`) retries them."""
        mapping = self.systems.mapping(name)
        if not refs and not everything:
            raise UsageError("name the records to retry, or use --all.")
        recorder = JobRecorder.start(self.systems, mapping=mapping.name, kind=JobKind.MANUAL, direction="-")
        store = self.systems.store
        with recorder.stopping_on_error():
            if everything:
                couplings = store.couplings.page(mapping.name, skipped=True, limit=1_000_000)
                failures = store.attention.failures(mapping.name, skipped=True, limit=1_000_000)
            else:
                skipped = store.attention.failures(mapping.name, skipped=True, limit=1_000_000)
                failures = [f for f in skipped if f.key in set(refs)]
                others = [r for r in refs if r not in {f.key for f in failures}]  # the rest name coupled records
                couplings = [c for c in self._couplings(mapping, others, recorder) if c.skipped]
            retried = [replace(c, skipped=False, failure_count=0) for c in couplings]
            again = [replace(f, skipped=False, failure_count=0) for f in failures]
            recorder.flush(StateChanges(couplings=tuple(retried), failures=tuple(again)))
        n = len(retried) + len(again)
        return recorder.finish(f"{plural(n, 'skipped record')} will be retried by the next run.")

    def restore(self, name: str, refs: Sequence[str]) -> JobReport:
        """Re-create the deleted side of coupled records from the side that still exists, and re-couple them."""
        mapping = self.systems.mapping(name)
        recorder = JobRecorder.start(self.systems, mapping=mapping.name, kind=JobKind.RESTORE, direction="-")
        with recorder.stopping_on_error():
            couplings = self._couplings(mapping, refs, recorder)
            chunks = ChunkSync(self.systems)
            for survivor in (Side.LOCAL, Side.INTEGRATION):
                direction = Direction.from_source(survivor)
                if not mapping.direction.allows(direction):
                    continue
                run = OneWayRun(
                    mapping=mapping,
                    direction=direction,
                    recorder=recorder,
                    mode=Mode.SYNC_NOW,
                    lengths=self.systems.lengths(direction.target, mapping.spec(direction.target).table),
                )
                chunks.restore(run, couplings)
        return recorder.finish()

    # pending deletions -------------------------------------------------------------------------------------
    def deletions(self, mapping: str | None = None) -> list[PendingDeletion]:
        name = self.systems.mapping(mapping).name if mapping else None
        return self.systems.store.attention.pending_deletions(name)

    def approve(self, name: str, refs: Sequence[str] = (), *, everything: bool = False) -> JobReport:
        """Carry out pending deletions: delete the surviving partners and remove their couplings."""
        mapping = self.systems.mapping(name)
        pending = self.systems.store.attention.pending_deletions(mapping.name)
        if not everything:
            if not refs:
                raise UsageError(
                    "name the pending deletions to approve (either key, or the survivor's display key), or use --all."
                )
            keys = {ref: self._survivor_key(mapping, pending, ref) for ref in refs}
            missing = sorted(ref for ref, key in keys.items() if key is None)
            if missing:
                raise RecordNotFound(f"{mapping.name}: no pending deletion for {', '.join(missing)}.")
            wanted = set(keys.values())
            pending = [p for p in pending if p.survivor_key in wanted]
        recorder = JobRecorder.start(self.systems, mapping=mapping.name, kind=JobKind.DELETE, direction="-")
        with recorder.stopping_on_error():
            pending = self._still_coupled(mapping, pending, recorder)
            for side in (Side.LOCAL, Side.INTEGRATION):
                chosen = [p for p in pending if p.side is side.other]  # the survivor lives on ``side``
                if chosen:
                    self._delete(mapping, side, chosen, recorder)
        return recorder.finish()

    def _still_coupled(
        self, mapping: TableMapping, pending: Sequence[PendingDeletion], recorder: JobRecorder
    ) -> list[PendingDeletion]:
        """The pending deletions whose pair is still coupled. A pair decoupled since (or coupled anew) is no longer
        one record: its survivor is never deleted, and the stale entry is dropped."""
        store = self.systems.store
        local_keys = [p.survivor_key if p.side is Side.INTEGRATION else p.deleted_key for p in pending]
        couplings = store.couplings.find(mapping.name, Side.LOCAL, local_keys)
        valid: list[PendingDeletion] = []
        stale: list[PendingDeletion] = []
        for deletion, local_key in zip(pending, local_keys, strict=True):
            coupling = couplings.get(local_key)
            ok = coupling is not None and coupling.key(deletion.side) == deletion.deleted_key
            (valid if ok else stale).append(deletion)
        for side in (Side.LOCAL, Side.INTEGRATION):
            keys = [p.deleted_key for p in stale if p.side is side]
            if keys:
                store.attention.remove_pending_deletions(mapping.name, side, keys)
        if stale:
            recorder.notice(
                f"{len(stale)} pending deletion(s) dropped without deleting anything: their records are no longer "
                "coupled."
            )
        return valid

    def _delete(
        self, mapping: TableMapping, side: Side, pending: Sequence[PendingDeletion], recorder: JobRecorder
    ) -> None:
        present = self._existing(mapping, side, [p.survivor_key for p in pending])
        to_delete = [p for p in pending if p.survivor_key in present]
        done = [p for p in pending if p.survivor_key not in present]  # already gone: nothing left to delete
        results = self.systems.connector(side).delete(mapping.spec(side), [p.survivor_key for p in to_delete])
        for deletion, result in zip(to_delete, results, strict=True):
            if result.ok:
                done.append(deletion)
            else:
                recorder.counters.failed += 1
                recorder.error(
                    message=f"{mapping.records_of(side, self.systems.name(side))} {present[deletion.survivor_key]} "
                    f"could not be deleted: {result.error}",
                    **{f"{side.value}_key": deletion.survivor_key},
                )
        recorder.counters.deleted += len(done) - (len(pending) - len(to_delete))
        local_keys = [p.survivor_key if side is Side.LOCAL else p.deleted_key for p in done]
        recorder.counters.uncoupled += self.systems.store.couplings.remove(mapping.name, local_keys)
        self.systems.store.attention.remove_pending_deletions(mapping.name, side.other, [p.deleted_key for p in done])

    # helpers -----------------------------------------------------------------------------------------------
    def _survivor_key(self, mapping: TableMapping, pending: Sequence[PendingDeletion], ref: str) -> str | None:
        """The survivor of the pending deletion ``ref`` names: by either key, or the survivor's display key."""
        for deletion in pending:
            if ref in (deletion.deleted_key, deletion.survivor_key):
                return deletion.survivor_key
        survivors = {p.survivor_key for p in pending}
        for side in (Side.LOCAL, Side.INTEGRATION):
            record = find_record(self.systems, mapping, side, ref)
            if record is not None and record.key in survivors:
                return record.key
        return None

    def _mappings(self, name: str | None) -> list[TableMapping]:
        return [self.systems.mapping(name)] if name else list(self.systems.in_dependency_order())

    def _existing(self, mapping: TableMapping, side: Side, keys: Sequence[str]) -> dict[str, str]:
        """The records of ``keys`` that exist, each with how a user knows it ("C00020 Trey Research")."""
        if not keys:
            return {}
        spec = replace(mapping.spec(side), filter=())
        columns = tuple(dict.fromkeys(c for c in (spec.key, spec.display_key, spec.name_field) if c))
        records = self.systems.connector(side).read(spec, keys, columns=columns)
        return {r.key: mapping.title(side, r.key, r.values) for r in records}

    def _coupling(self, mapping: TableMapping, ref: str) -> Coupling:
        item = resolve_couplings(self.systems, mapping, [ref])[0]
        if item.coupling is None:
            what = "is not coupled" if item.record else f"names no record in {self.systems.either}"
            raise RecordNotFound(f"{mapping.name}: {ref!r} {what}.")
        return item.coupling

    def _couplings(self, mapping: TableMapping, refs: Sequence[str], recorder: JobRecorder) -> list[Coupling]:
        found = []
        for item in resolve_couplings(self.systems, mapping, refs):
            if item.coupling is None:
                recorder.counters.failed += 1
                what = "is not coupled" if item.record else f"names no record in {self.systems.either}"
                recorder.error(message=f"{item.ref!r} {what}.", local_key=item.ref)
            else:
                found.append(item.coupling)
        return found


def _skipped_failure(failure: RecordFailure, exists: bool) -> SkippedRecord:
    local = failure.side is Side.LOCAL
    return SkippedRecord(
        mapping=failure.mapping,
        local_key=failure.key if local else None,
        integration_key=None if local else failure.key,
        local_exists=exists if local else False,
        integration_exists=False if local else exists,
        error=failure.message,
        coupled=False,
    )
