"""The synchronizer: incremental (watermark-based), full and manual synchronization of table mappings.

Each one-way pass reads the source in pages and, per page: finds the couplings (one query), reads the coupled
targets (one batch), plans every pair, writes updates and inserts in batches, and saves couplings, errors and job
counters in one transaction. After every write the target's new modified-on is stored in the coupling, so coupler's
own writes are never read back as changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.errors import AlreadyCoupled
from coupler.domain.jobs import JobKind
from coupler.domain.mapping import Direction, Side, TableMapping
from coupler.domain.planning import Action, Transfer, plan_pair, source_changed
from coupler.domain.records import Record, RecordUpdate
from coupler.services.context import Systems
from coupler.services.recorder import JobRecorder, JobReport

__all__ = ["Synchronizer"]


@dataclass(kw_only=True)
class _Pass:
    """One one-way pass over a page of source records."""

    mapping: TableMapping
    direction: Direction
    recorder: JobRecorder
    create: bool = False
    forced: bool = False
    manual: bool = False
    failed_insert_at: datetime | None = None
    moves: Transfer = field(init=False)

    def __post_init__(self) -> None:
        self.moves = Transfer.of(self.mapping, self.direction)

    @property
    def source(self) -> Side:
        return self.direction.source

    def label(self, record: Record) -> str:
        return self.mapping.label(self.source, record.key, record.values)

    def hold_watermark(self, modified_on: datetime | None) -> None:
        """An uncoupled record failed to be created: keep the watermark below it so the next run retries it."""
        if modified_on and (self.failed_insert_at is None or modified_on < self.failed_insert_at):
            self.failed_insert_at = modified_on

    @property
    def target(self) -> Side:
        return self.direction.target


@dataclass(kw_only=True)
class _Writes:
    updates: list[RecordUpdate] = field(default_factory=list)
    updated: list[tuple[Coupling, Record, Record, bool]] = field(default_factory=list)
    inserts: list[dict[str, object]] = field(default_factory=list)
    inserted: list[Record] = field(default_factory=list)
    couplings: list[Coupling] = field(default_factory=list)


def _stamps(
    source: Side, source_on: datetime | None, target_on: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """(local, integration) modified-on from a pass's (source, target) ones."""
    return (source_on, target_on) if source is Side.LOCAL else (target_on, source_on)


class Synchronizer:
    def __init__(self, systems: Systems) -> None:
        self.systems = systems

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
            for direction in mapping.direction.one_way:
                run = _Pass(
                    mapping=mapping,
                    direction=direction,
                    recorder=recorder,
                    create=full or not mapping.sync_only_coupled,
                )
                if not full:
                    self._retry_failed(run)
                self._changed_records(run, full=full)
        return recorder.finish()

    def sync_couplings(
        self,
        mapping: TableMapping,
        couplings: Sequence[Coupling],
        *,
        direction: Direction | None,
        recorder: JobRecorder,
    ) -> None:
        """ "Synchronize now" for coupled records: forced in ``direction``, or by Business Central's rules."""
        if direction is not None:
            mapping.require(direction)
        directions = (direction,) if direction else mapping.direction.one_way
        for chunk in _chunks(couplings, self.systems.batch_size):
            for one_way in directions:
                run = _Pass(
                    mapping=mapping,
                    direction=one_way,
                    recorder=recorder,
                    forced=direction is not None,
                    manual=True,
                )
                self._process_couplings(run, chunk)

    # passes ------------------------------------------------------------------------------------------------
    def _retry_failed(self, run: _Pass) -> None:
        """Records whose last sync failed (and are not skipped) are retried first, as Business Central does."""
        after: str | None = None
        while True:
            batch = self.systems.store.failed_couplings(
                run.mapping.name, run.direction, after=after, limit=self.systems.batch_size
            )
            if not batch:
                return
            self._process_couplings(run, batch)
            after = batch[-1].local_key

    def _process_couplings(self, run: _Pass, couplings: Sequence[Coupling]) -> None:
        wanted = {c.key(run.source): c for c in couplings}
        source = self.systems.connector(run.source)
        spec = run.mapping.spec(run.source)
        records = source.read(spec, list(wanted), columns=run.mapping.columns(run.source))
        found = {r.key for r in records}
        missing = [c for key, c in wanted.items() if key not in found]
        failed = [
            self._fail(run, c, f"The {run.source.value} record {c.key(run.source)} no longer exists.") for c in missing
        ]
        if failed:
            run.recorder.flush(failed)
        self._process(run, records)

    def _changed_records(self, run: _Pass, *, full: bool) -> None:
        """Read the source's records changed since its watermark, page by page, and advance the watermark.

        The watermark is the point up to which every change has been seen: the highest modified-on read, but never
        later than the pass's start minus the overlap window (a record stamped just before the read began may
        commit, or carry a skewed clock, after it), and kept below a record that failed to be created so the next
        run tries it again. Records read twice are recognised by their coupling and cost no write.
        """
        systems = self.systems
        name, side = run.mapping.name, run.source
        settled = systems.clock() - timedelta(milliseconds=systems.overlap_ms)
        watermark = None if full else systems.store.watermark(name, side)
        connector = systems.connector(side)
        systems.progress.start(f"{name} {run.direction.value}")
        pages = connector.changed_since(
            run.mapping.spec(side), watermark, columns=run.mapping.columns(side), page_size=systems.batch_size
        )
        for page in pages:
            self._process(run, page)
            seen = max((r.modified_on for r in page if r.modified_on), default=None)
            if seen is None:
                continue
            mark = min(seen, settled)
            if run.failed_insert_at is not None:
                mark = min(mark, run.failed_insert_at - timedelta(microseconds=1))
            if watermark is None or mark > watermark:
                systems.store.set_watermark(name, side, mark)
                watermark = mark

    # one page ----------------------------------------------------------------------------------------------
    def _process(self, run: _Pass, records: Sequence[Record]) -> None:
        if not records:
            return
        systems, mapping, recorder = self.systems, run.mapping, run.recorder
        couplings = systems.store.couplings(mapping.name, run.source, [r.key for r in records])
        writes = _Writes()
        pairs: list[tuple[Record, Coupling]] = []
        for record in records:
            coupling = couplings.get(record.key)
            if coupling is None:
                if run.create:
                    writes.inserts.append(run.moves(record.values))
                    writes.inserted.append(record)
            elif self._handled(run, coupling):
                continue
            elif run.manual:
                pairs.append((record, replace(coupling, skipped=False)))
            elif source_changed(coupling, run.direction, record.modified_on):
                pairs.append((record, coupling))
        partners = [coupling.key(run.target) for _, coupling in pairs]
        target_spec = mapping.spec(run.target)
        targets = (
            {
                r.key: r
                for r in systems.connector(run.target).read(target_spec, partners, columns=mapping.columns(run.target))
            }
            if partners
            else {}
        )
        for record, coupling in pairs:
            self._plan(run, coupling, record, targets.get(coupling.key(run.target)), writes)
        self._write_updates(run, writes)
        self._write_inserts(run, writes)
        recorder.flush(writes.couplings)
        systems.progress.advance(len(records))

    def _handled(self, run: _Pass, coupling: Coupling) -> bool:
        """Already done in this job: by this pass, or failed in the other pass (reported once, not twice)."""
        job = run.recorder.job.id
        if coupling.job(run.direction) == job:
            return True
        reverse = Direction.from_source(run.target)
        return coupling.job(reverse) == job and coupling.result(reverse) is SyncResult.FAILURE

    def _plan(self, run: _Pass, coupling: Coupling, source: Record, target: Record | None, writes: _Writes) -> None:
        counters = run.recorder.counters
        plan = plan_pair(
            mapping=run.mapping,
            coupling=coupling,
            direction=run.direction,
            source=source,
            target=target,
            forced=run.forced,
            moves=run.moves,
        )
        if plan.action is Action.IN_SYNC:
            return
        if plan.action is Action.SKIPPED:
            counters.skipped += 1
        elif plan.action is Action.TARGET_MISSING:
            message = (
                f"{run.label(source)}: cannot be synchronized because it is coupled to a deleted "
                f"{run.target.value} record ({coupling.key(run.target)})."
            )
            writes.couplings.append(self._fail(run, coupling, message))
        elif plan.action is Action.CONFLICT:
            counters.conflicts += 1
            writes.couplings.append(self._fail(run, coupling, f"{run.label(source)}: {plan.message}"))
        elif plan.action is Action.UNCHANGED:
            counters.unchanged += 1
            assert target is not None
            stored = self._synced(run, coupling, source, target.modified_on, plan.target_changed)
            if _state(stored) != _state(coupling):
                writes.couplings.append(stored)
        else:
            assert target is not None
            writes.updates.append(RecordUpdate(key=target.key, values=plan.values, version=target.version))
            writes.updated.append((coupling, source, target, plan.target_changed))

    def _synced(
        self, run: _Pass, coupling: Coupling, source: Record, target_on: datetime | None, target_changed: bool
    ) -> Coupling:
        """The coupling after a successful pass. When the target changed too on a bidirectional mapping, its old
        modified-on is kept, so the reverse pass still carries the target's own changes back."""
        if target_changed and run.mapping.direction is Direction.BIDIRECTIONAL and not run.forced:
            target_on = coupling.modified_on(run.target)
        local_on, integration_on = _stamps(run.source, source.modified_on, target_on)
        return coupling.succeeded(
            direction=run.direction,
            job_id=run.recorder.job.id,
            at=self.systems.clock(),
            local_modified_on=local_on,
            integration_modified_on=integration_on,
            settles=run.forced,
        )

    def _fail(
        self, run: _Pass, coupling: Coupling, message: str, detail: str | None = None, *, retryable: bool = False
    ) -> Coupling:
        run.recorder.counters.failed += 1
        run.recorder.error(
            message=message,
            local_key=coupling.local_key,
            integration_key=coupling.integration_key,
            detail=detail,
        )
        job = run.recorder.job.id
        return coupling.failed(direction=run.direction, job_id=job, message=message, retryable=retryable)

    # writes ------------------------------------------------------------------------------------------------
    def _write_updates(self, run: _Pass, writes: _Writes) -> None:
        if not writes.updates:
            return
        target = self.systems.connector(run.target)
        results = target.update(run.mapping.spec(run.target), writes.updates)
        for (coupling, source, _target, target_changed), result in zip(writes.updated, results, strict=True):
            if result.ok:
                run.recorder.counters.modified += 1
                writes.couplings.append(self._synced(run, coupling, source, result.modified_on, target_changed))
            else:
                writes.couplings.append(
                    self._fail(
                        run, coupling, _reject(run, source, result.error), result.detail, retryable=result.retryable
                    )
                )

    def _write_inserts(self, run: _Pass, writes: _Writes) -> None:
        if not writes.inserts:
            return
        systems, counters = self.systems, run.recorder.counters
        target = systems.connector(run.target)
        results = target.insert(run.mapping.spec(run.target), writes.inserts)
        created: list[Coupling] = []
        now = systems.clock()
        for source, result in zip(writes.inserted, results, strict=True):
            if not result.ok or result.key is None:
                counters.failed += 1
                keys = {f"{run.source.value}_key": source.key}
                run.recorder.error(message=_reject(run, source, result.error), detail=result.detail, **keys)
                run.hold_watermark(source.modified_on)
                continue
            counters.inserted += 1
            created.append(
                Coupling.created(
                    mapping=run.mapping.name,
                    direction=run.direction,
                    source_key=source.key,
                    target_key=result.key,
                    source_modified_on=source.modified_on,
                    target_modified_on=result.modified_on,
                    job_id=run.recorder.job.id,
                    at=now,
                )
            )
        self._couple(run, created)

    def _couple(self, run: _Pass, created: Sequence[Coupling]) -> None:
        try:
            self.systems.store.add_couplings(created)
            run.recorder.counters.coupled += len(created)
            return
        except AlreadyCoupled:
            pass
        for coupling in created:  # isolate the record that is coupled meanwhile; the others are coupled
            try:
                self.systems.store.add_couplings([coupling])
                run.recorder.counters.coupled += 1
            except AlreadyCoupled as error:
                run.recorder.counters.failed += 1
                run.recorder.error(
                    message=error.message,
                    local_key=coupling.local_key,
                    integration_key=coupling.integration_key,
                )


def _state(coupling: Coupling) -> tuple[object, ...]:
    """What a sync changes in a coupling, job ids and times aside."""
    return (
        coupling.local_modified_on,
        coupling.integration_modified_on,
        coupling.to_integration_result,
        coupling.from_integration_result,
        coupling.last_error,
        coupling.skipped,
    )


def _reject(run: _Pass, source: Record, error: str | None) -> str:
    return f"{run.label(source)}: the {run.target.value} system rejected the record: {error or 'no reason given'}"


def _chunks(items: Sequence[Coupling], size: int) -> Iterable[Sequence[Coupling]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
