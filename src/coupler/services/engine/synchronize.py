"""The synchronizer: incremental (watermark-based), full and manual synchronization of table mappings.

A run takes each of the mapping's one-way passes in turn (local->integration first). A pass first retries what
failed last time (coupled records and uncoupled ones whose counterpart could not be created), then reads the
source's records changed since its watermark, page by page, and hands each page to ChunkSync.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.errors import RunStopped
from coupler.domain.jobs import JobKind
from coupler.domain.mapping import DeletePropagation, Direction, Side, TableMapping
from coupler.domain.records import ChangeCursor
from coupler.domain.state import FailureKey, StateChanges
from coupler.services.context import Systems
from coupler.services.engine.chunk import ChunkSync
from coupler.services.engine.one_way import Mode, OneWayRun
from coupler.services.engine.propagation import delete_partners, propagate_reported_deletions
from coupler.services.engine.recorder import JobRecorder, JobReport

__all__ = ["Synchronizer"]


class Synchronizer:
    def __init__(self, systems: Systems) -> None:
        self.systems = systems
        self.chunks = ChunkSync(systems)

    # entry points ------------------------------------------------------------------------------------------
    def sync_modified(self, names: Sequence[str] | None = None) -> list[JobReport]:
        """Synchronize modified records of the mappings (all by default) in dependency order."""
        return [self.run_mapping(m, kind=JobKind.INCREMENTAL) for m in self.systems.in_dependency_order(names)]

    def sync_full(self, name: str) -> JobReport:
        """Every record of the mapping; uncoupled records get a new counterpart and a coupling."""
        return self.run_mapping(self.systems.mapping(name), kind=JobKind.FULL)

    def run_mapping(self, mapping: TableMapping, *, kind: JobKind) -> JobReport:
        recorder = JobRecorder.start(self.systems, mapping=mapping.name, kind=kind, direction=mapping.direction)
        full = kind is JobKind.FULL
        with recorder.stopping_on_error():
            runs = [
                OneWayRun(
                    mapping=mapping,
                    direction=direction,
                    recorder=recorder,
                    mode=Mode.FULL if full else Mode.CHANGES,
                    lengths=self._lengths(mapping, direction),
                    earlier_failures=bool(
                        self.systems.store.attention.failures(mapping.name, side=direction.source, limit=1)
                    ),
                )
                for direction in mapping.direction.one_way
            ]
            for run in runs:  # first, in both directions, couple what an interrupted run created but did not couple
                self.chunks.creator.recover(run)
            for index, run in enumerate(runs):
                if index:  # what the first pass created is read back here: known, so not looked up again
                    run.just_created = runs[0].created
                    # a record the first pass created without learning so (its answer lost, then refused as a
                    # duplicate when sent again) is coupled now, before this pass reads it as a new record
                    self.chunks.creator.recover(runs[0])
                self._start(run, full=full)
                since = None if full else self.systems.store.cursors.watermark(mapping.name, run.source)
                propagate_reported_deletions(self.systems, run, since.stamp if since else None)
                if not full:
                    self._retry_failed(run, failures_only=True)
                    self._retry_failed_creations(run)
                self._changed_records(run, full=full)
                if not full:  # pairs left to carry back that the changed records did not bring along
                    self._retry_failed(run)
            if len(runs) == 2:  # what the second pass left pending for the first goes now, not a run later
                self._retry_failed(replace(runs[0], counted=False))
            for run in runs:
                self.chunks.creator.stamp(run, run.to_stamp)
        return recorder.finish()

    def sync_keys(self, mapping: TableMapping, side: Side, keys: Sequence[str]) -> JobReport:
        """A targeted run (a system notified coupler that these records of ``side`` changed): the passes whose source
        is ``side`` handle these records as an incremental run would (a coupled pair by the change rules, an uncoupled
        record given a counterpart when the mapping creates them), without reading the other changes or moving the
        watermark, which the next run still reads from. A record gone from ``side`` is a reported deletion: with
        ``delete = "propagate"`` its partner is deleted (the deletions feed's way); otherwise it is left to be noticed
        as a missing partner, as Business Central does."""
        recorder = JobRecorder.start(
            self.systems, mapping=mapping.name, kind=JobKind.INCREMENTAL, direction=mapping.direction
        )
        wanted = list(dict.fromkeys(keys))
        with recorder.stopping_on_error():
            for direction in mapping.direction.one_way:
                if direction.source is not side:
                    continue
                run = OneWayRun(
                    mapping=mapping,
                    direction=direction,
                    recorder=recorder,
                    mode=Mode.CHANGES,
                    lengths=self._lengths(mapping, direction),
                )
                self.chunks.creator.recover(run)
                self.systems.progress.start(f"{mapping.name} {direction.value}", len(wanted))
                spec = mapping.spec(side)
                connector = self.systems.connector(side)
                for start in range(0, len(wanted), self.systems.batch_size):
                    chunk = wanted[start : start + self.systems.batch_size]
                    records = connector.read(spec, chunk, columns=mapping.columns(side))
                    self.chunks.process(run, [r for r in records if spec.matches(r.values)])
                    found = {r.key for r in records}
                    gone = [k for k in chunk if k not in found]
                    if gone and mapping.delete is DeletePropagation.PROPAGATE:
                        delete_partners(self.systems, run, gone)
                    self.systems.progress.advance(len(chunk))
                self.chunks.creator.stamp(run, run.to_stamp)
        return recorder.finish()

    def sync_couplings(
        self,
        mapping: TableMapping,
        couplings: Sequence[Coupling],
        *,
        direction: Direction | None,
        recorder: JobRecorder,
        winners: Mapping[str, Side] | None = None,
    ) -> None:
        """ "Synchronize now" for coupled records: forced in ``direction``, or by the change rules in both passes.
        ``winners`` resolves parked conflicts field by field (the pairs are looked at again whatever changed)."""
        if direction is not None:
            mapping.require(direction)
        if direction is not None and winners:
            raise ValueError("a conflict is resolved by its fields' winners, not in a forced direction")
        mode = Mode.RESOLVE if winners else Mode.FORCED if direction is not None else Mode.SYNC_NOW
        directions = (direction,) if direction else mapping.direction.one_way
        progress = self.systems.progress
        progress.start(f"{mapping.name} {(direction or mapping.direction).value}", len(couplings))
        for chunk in _chunks(couplings, self.systems.batch_size):
            for one_way in directions:
                run = OneWayRun(
                    mapping=mapping,
                    direction=one_way,
                    recorder=recorder,
                    mode=mode,
                    winners=winners or {},
                    lengths=self._lengths(mapping, one_way),
                    counted=False,
                )
                self._process_couplings(run, chunk)
            progress.advance(len(chunk))  # a record is done when every pass has handled it

    # passes ------------------------------------------------------------------------------------------------
    def _start(self, run: OneWayRun, *, full: bool) -> None:
        """Announce the pass; a full one reads every source record, so its total is their count (when the source
        can count cheaply)."""
        source = self.systems.connector(run.source)
        total = source.count(run.mapping.spec(run.source)) if full else None
        self.systems.progress.start(f"{run.mapping.name} {run.direction.value}", total)

    def _lengths(self, mapping: TableMapping, direction: Direction) -> dict[str, int]:
        return self.systems.lengths(direction.target, mapping.spec(direction.target).table)

    def _retry_failed(self, run: OneWayRun, *, failures_only: bool = False) -> None:
        """Records whose last sync failed (and are not skipped) are retried first, as Business Central does
        (``failures_only``); the pairs the other direction left with changes to carry back (even when older than
        the watermark) go after the changed records, which usually bring them along: then they cost no read of
        their own. Pairs this job has already handled in this direction are not read again."""
        after: str | None = None
        while batch := self.systems.store.couplings.failed(
            run.mapping.name, run.direction, after=after, limit=self.systems.batch_size
        ):
            after = batch[-1].local_key
            wanted = [
                c
                for c in batch
                if not self.chunks.handled(run, c)
                and not (failures_only and c.result(run.direction) is SyncResult.PENDING)
            ]
            if wanted:
                self._process_couplings(run, wanted)

    def _retry_failed_creations(self, run: OneWayRun) -> None:
        """Uncoupled records whose counterpart could not be created last time are tried again."""
        store, spec = self.systems.store, run.mapping.spec(run.source)
        after: str | None = None
        retry = OneWayRun(
            mapping=run.mapping, direction=run.direction, recorder=run.recorder, mode=Mode.CREATE, lengths=run.lengths
        )
        while failures := store.attention.failures(
            run.mapping.name, side=run.source, skipped=False, after=after, limit=self.systems.batch_size
        ):
            keys = [f.key for f in failures]
            records = self.systems.connector(run.source).read(spec, keys, columns=run.mapping.columns(run.source))
            found = {r.key for r in records}
            coupled = store.couplings.find(run.mapping.name, run.source, keys)
            settled = tuple(
                FailureKey(mapping=run.mapping.name, side=run.source, key=k)
                for k in keys
                if k not in found or k in coupled
            )
            if settled:  # the record is gone, or was coupled meanwhile: nothing left to create
                run.recorder.flush(StateChanges(cleared=settled))
            self.chunks.process(retry, [r for r in records if spec.matches(r.values)])
            after = keys[-1]

    def _process_couplings(self, run: OneWayRun, couplings: Sequence[Coupling]) -> None:
        """Synchronize these couplings' source records (as the couplings are now: an earlier pass may have
        changed them)."""
        keys = [c.key(run.source) for c in couplings]
        wanted = self.systems.store.couplings.find(run.mapping.name, run.source, keys)
        spec = run.mapping.spec(run.source)
        records = self.systems.connector(run.source).read(spec, list(wanted), columns=run.mapping.columns(run.source))
        found = {r.key for r in records}
        failed = [
            self.chunks.fail(
                run, c, f"The {run.mapping.records_of(run.source, run.system(run.source))} {key} no longer exists."
            )
            for key, c in wanted.items()
            if key not in found
        ]
        if failed:
            run.recorder.flush(StateChanges(couplings=tuple(failed)))
        self.chunks.process(run, records)

    def _changed_records(self, run: OneWayRun, *, full: bool) -> None:
        """Read the source's records changed since its watermark, page by page, and advance the watermark.

        The watermark is the change cursor up to which every change has been seen: the keyset position (modified-on
        and key) of the last record of the last page handled, so that a run stopped between two pages that share a
        modified-on resumes among them. It never goes past the pass's start minus the overlap window (a record
        stamped just before the read began may commit, or carry a skewed clock, after it): a page ending later
        leaves it there, with no key. Records read twice are recognised by their coupling and cost no write;
        records that failed are retried from the state store, not by holding the watermark back.
        """
        systems = self.systems
        name, side = run.mapping.name, run.source
        settled = systems.clock() - timedelta(milliseconds=systems.overlap_ms)
        watermark = None if full else systems.store.cursors.watermark(name, side)
        connector = systems.connector(side)
        pages = connector.changed_since(
            run.mapping.spec(side), watermark, columns=run.mapping.columns(side), page_size=systems.batch_size
        )
        for page in pages:
            self.chunks.process(run, page)
            cursor = ChangeCursor.after(page[-1], settled=settled) if page else None
            if cursor is not None and cursor != watermark:
                systems.store.cursors.set_watermark(name, side, cursor)
                watermark = cursor
            if systems.stop is not None and systems.stop.is_set():  # a clean stop: this page is done and saved
                raise RunStopped()


def _chunks(items: Sequence[Coupling], size: int) -> Iterable[Sequence[Coupling]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
