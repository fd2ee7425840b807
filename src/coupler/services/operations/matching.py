"""Match-based coupling: couple the uncoupled local records with the integration records holding the same values.

It takes every uncoupled local record (the local filter applied), or only those a user selected (``refs``, see
``services.match_selection``). For each page of them, each group of fields is tried in order with one batch lookup
of the integration table (its filter applied) per page and group. Exactly one uncoupled integration
record matching on every non-empty field of the group couples; none, several, or a match already coupled (before or
earlier in this job) tries the next group. Records still unmatched are reported with the reason, or get a new
integration counterpart with ``create_missing``. The new couplings can be synchronized right after.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from coupler.domain.coupling import Coupling
from coupler.domain.errors import AlreadyCoupled
from coupler.domain.jobs import JobKind
from coupler.domain.mapping import Direction, Side, TableMapping
from coupler.domain.records import Record
from coupler.services.context import Systems
from coupler.services.engine.creation import Creator
from coupler.services.engine.lookups import LookupResolver
from coupler.services.engine.one_way import Mode, OneWayRun
from coupler.services.engine.recorder import JobRecorder, JobReport
from coupler.services.engine.synchronize import Synchronizer
from coupler.services.operations.match_rules import MatchGroup, match_groups, match_key
from coupler.services.operations.match_selection import chunks, select_uncoupled
from coupler.services.wording import plural

__all__ = ["Matcher", "SyncAfter"]

SyncAfter = Side | Literal["both"] | None
"""Synchronize the new couplings using this side's data, by Business Central's rules ("both"), or not (None)."""


@dataclass(kw_only=True)
class _Job:
    mapping: TableMapping
    groups: tuple[MatchGroup, ...]
    recorder: JobRecorder
    local_columns: tuple[str, ...]
    integration_columns: tuple[str, ...]
    creating: OneWayRun | None
    selection: list[Record] | None = None
    """The uncoupled records a user selected (None: every uncoupled local record)."""
    already_coupled: int = 0
    """Selected records left out because they are coupled."""
    seen: int = 0
    matched: list[Coupling] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.mapping.name

    def system(self, side: Side) -> str:
        return self.recorder.systems.name(side)

    def records_of(self, side: Side) -> str:
        """The ``side`` table as a user knows it ("Dynamics 365 Sales Account")."""
        return self.mapping.records_of(side, self.system(side))

    def label(self, side: Side, record: Record) -> str:
        return self.mapping.label(side, record.key, record.values, system=self.system(side))


@dataclass(kw_only=True)
class _Page:
    """The outcome of one page: pairs to couple and records left unmatched, with the reason."""

    pairs: list[tuple[Record, Record]] = field(default_factory=list)
    unmatched: list[tuple[Record, str]] = field(default_factory=list)


class Matcher:
    def __init__(self, systems: Systems) -> None:
        self.systems = systems

    def match(
        self,
        name: str,
        *,
        groups: Sequence[Sequence[str]] | None = None,
        create_missing: bool = False,
        sync_after: SyncAfter = None,
        refs: Sequence[str] | None = None,
    ) -> JobReport:
        """Couple the mapping's uncoupled local records (or those of ``refs``, local primary or display keys) by
        matching values; see the module's docstring. An unknown reference raises RecordNotFound and a record
        outside the local filter RecordError, before any job starts."""
        mapping = self.systems.mapping(name)
        chosen = match_groups(mapping, groups, system=self.systems.name(Side.LOCAL))
        local_columns = _columns(mapping.columns(Side.LOCAL), *(g.local_fields for g in chosen))
        selected = select_uncoupled(self.systems, mapping, refs, columns=local_columns) if refs is not None else None
        if create_missing:
            mapping.require(Direction.TO_INTEGRATION)
        direction = Direction.from_source(sync_after) if isinstance(sync_after, Side) else None
        if direction is not None:
            mapping.require(direction)
        shown = direction or (mapping.direction if sync_after else None)
        shown = shown or (Direction.TO_INTEGRATION if create_missing else None)
        recorder = JobRecorder.start(
            self.systems, mapping=mapping.name, kind=JobKind.MATCH, direction=shown.value if shown else "-"
        )
        with recorder.stopping_on_error():
            job = _Job(
                mapping=mapping,
                groups=chosen,
                recorder=recorder,
                local_columns=local_columns,
                integration_columns=_columns(
                    mapping.columns(Side.INTEGRATION), *(g.integration_fields for g in chosen)
                ),
                creating=OneWayRun(
                    mapping=mapping, direction=Direction.TO_INTEGRATION, recorder=recorder, mode=Mode.CREATE
                )
                if create_missing
                else None,
            )
            if selected is not None:
                job.selection, job.already_coupled = selected.records, selected.coupled
            self._run(job)
            if sync_after is not None and job.matched:
                Synchronizer(self.systems).sync_couplings(mapping, job.matched, direction=direction, recorder=recorder)
        return recorder.finish(_summary(job))

    # the pages ---------------------------------------------------------------------------------------------
    def _pages(self, job: _Job) -> Iterator[list[Record]]:
        """The local records to look at, page by page, after announcing how many there are (when known)."""
        systems = self.systems
        if job.selection is not None:
            systems.progress.start(f"{job.name} match", len(job.selection))
            yield from chunks(job.selection, systems.batch_size)
            return
        systems.progress.start(f"{job.name} match", systems.local.count(job.mapping.local))
        yield from systems.local.changed_since(
            job.mapping.local, None, columns=job.local_columns, page_size=systems.batch_size
        )

    def _run(self, job: _Job) -> None:
        systems = self.systems
        for page in self._pages(job):
            coupled = systems.store.couplings.find(job.name, Side.LOCAL, [r.key for r in page])
            uncoupled = [r for r in page if r.key not in coupled]
            job.seen += len(uncoupled)
            outcome = self._match_page(job, uncoupled)
            job.matched += self._couple(job, [self._coupling(job, local, partner) for local, partner in outcome.pairs])
            if job.creating is not None:
                self._create(job, outcome.unmatched)
            else:
                self._report(job, outcome.unmatched)
            job.recorder.flush()
            systems.progress.advance(len(page))

    def _match_page(self, job: _Job, records: Sequence[Record]) -> _Page:
        page = _Page()
        taken: dict[str, str] = {}  # integration key -> the local record it was matched to in this page
        reasons: dict[str, str] = {}
        probed: set[str] = set()
        pending = list(records)
        for group in job.groups:
            if not pending:
                break
            probes = {r.key: group.probe(r.values) for r in pending}
            candidates = self._candidates(job, group, pending, probes)
            found = {c.key for matches in candidates.values() for c in matches}
            coupled = self.systems.store.couplings.find(job.name, Side.INTEGRATION, sorted(found)) if found else {}
            left = []
            for record in pending:
                matches = candidates.get(record.key, [])
                if probes[record.key]:
                    probed.add(record.key)
                free = [c for c in matches if c.key not in coupled and c.key not in taken]
                if len(free) == 1:
                    taken[free[0].key] = job.label(Side.LOCAL, record)
                    page.pairs.append((record, free[0]))
                    continue
                if matches and record.key not in reasons:
                    reasons[record.key] = _reason(job, group, record, free, matches, coupled, taken)
                left.append(record)
            pending = left
        for record in pending:
            reason = reasons.get(record.key, f"no match in {job.system(Side.INTEGRATION)}")
            if record.key not in probed:
                fields = ", ".join(
                    dict.fromkeys(job.mapping.caption_of(Side.LOCAL, f) for g in job.groups for f in g.local_fields)
                )
                reason = f"no match: nothing to match on ({fields} empty)"
            page.unmatched.append((record, reason))
        return page

    def _candidates(
        self,
        job: _Job,
        group: MatchGroup,
        records: Sequence[Record],
        probes: dict[str, tuple[tuple[str, str, Any], ...]],
    ) -> dict[str, list[Record]]:
        """The integration records matching each local record on its non-empty fields of the group: one lookup per
        page on the group's first field (on a later field for records whose first ones are empty)."""
        sensitive = group.case_sensitive
        wanted: dict[str, list[Any]] = {}
        for record in records:
            probe = probes[record.key]
            if probe:
                wanted.setdefault(probe[0][1], []).append(probe[0][2])
        index: dict[str, dict[Any, list[Record]]] = {}
        connector = self.systems.integration
        for integration_field, values in wanted.items():
            found = connector.find_any(
                job.mapping.integration,
                integration_field,
                list(dict.fromkeys(values)),
                columns=job.integration_columns,
                case_sensitive=sensitive,
            )
            by_value = index[integration_field] = {}
            for candidate in found:
                by_value.setdefault(match_key(candidate.get(integration_field), sensitive), []).append(candidate)
        result: dict[str, list[Record]] = {}
        for record in records:
            probe = probes[record.key]
            if not probe:
                continue
            _, first_field, first_value = probe[0]
            result[record.key] = [
                candidate
                for candidate in index[first_field].get(match_key(first_value, sensitive), [])
                if all(
                    match_key(candidate.get(integration), sensitive) == match_key(value, sensitive)
                    for _, integration, value in probe
                )
            ]
        return result

    # writes ------------------------------------------------------------------------------------------------
    def _coupling(self, job: _Job, local: Record, integration: Record) -> Coupling:
        """A coupling never synchronized: no modified-on stored, so the first sync compares both sides."""
        return Coupling(
            mapping=job.name, local_key=local.key, integration_key=integration.key, coupled_at=self.systems.clock()
        )

    def _couple(self, job: _Job, couplings: Sequence[Coupling]) -> list[Coupling]:
        """Add the couplings in one batch; when a record was coupled meanwhile, one by one so the others still are."""
        if not couplings:
            return []
        counters = job.recorder.counters
        store = self.systems.store
        try:
            store.couplings.add(couplings)
            counters.coupled += len(couplings)
            return list(couplings)
        except AlreadyCoupled:
            pass
        added = []
        for coupling in couplings:
            try:
                store.couplings.add([coupling])
            except AlreadyCoupled as error:
                counters.failed += 1
                job.recorder.error(
                    message=error.message, local_key=coupling.local_key, integration_key=coupling.integration_key
                )
                continue
            counters.coupled += 1
            added.append(coupling)
        return added

    def _report(self, job: _Job, unmatched: Sequence[tuple[Record, str]]) -> None:
        job.recorder.counters.unmatched += len(unmatched)
        for record, reason in unmatched:
            job.recorder.error(message=f"{job.label(Side.LOCAL, record)}: {reason}", local_key=record.key)

    def _create(self, job: _Job, unmatched: Sequence[tuple[Record, str]]) -> None:
        """Create the integration counterpart of each unmatched record, in one batch, and couple it (the path a
        full synchronization takes, lookups and transformations included)."""
        run = job.creating
        if not unmatched or run is None:
            return
        sources = [record for record, _ in unmatched]
        resolved = LookupResolver(self.systems).resolve(run.moves, run.direction, sources)
        outcomes = Creator(self.systems).create(run, sources, resolved)
        for (record, reason), (_, result) in zip(unmatched, outcomes, strict=True):
            if not result.ok:
                job.recorder.counters.failed += 1
                job.recorder.error(
                    message=f"{job.label(Side.LOCAL, record)}: {reason}, and its {job.records_of(Side.INTEGRATION)} "
                    f"could not be created: {result.error or 'no reason given'}",
                    detail=result.detail,
                    local_key=record.key,
                )


def _reason(
    job: _Job,
    group: MatchGroup,
    record: Record,
    free: Sequence[Record],
    matches: Sequence[Record],
    coupled: dict[str, Coupling],
    taken: dict[str, str],
) -> str:
    if len(free) > 1:
        on = ", ".join(
            f"{job.mapping.caption_of(Side.INTEGRATION, integration)} {value!r}"
            for _, integration, value in group.probe(record.values)
        )
        return f"ambiguous: {len(free)} {job.records_of(Side.INTEGRATION)} records match on {on}"
    partner = matches[0]
    owner = taken.get(partner.key) or _local_label(job, coupled[partner.key].local_key)
    return f"the matching {job.label(Side.INTEGRATION, partner)} is already coupled to {owner}"


def _local_label(job: _Job, key: str) -> str:
    """The local record ``key`` as a user knows it, read for the message (its key alone if it is gone)."""
    spec = replace(job.mapping.local, filter=())
    columns = tuple(dict.fromkeys(c for c in (spec.key, spec.display_key, spec.name_field) if c))
    found = job.recorder.systems.connector(Side.LOCAL).read(spec, [key], columns=columns)
    values = found[0].values if found else {}
    return job.mapping.label(Side.LOCAL, key, values, system=job.system(Side.LOCAL))


def _columns(base: Sequence[str], *more: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*base, *(name for names in more for name in names)]))


def _summary(job: _Job) -> str:
    counters = job.recorder.counters
    parts = [f"{len(job.matched)} matched and coupled"]
    if job.creating is not None:
        parts.append(f"{counters.inserted} created")
    if counters.failed:
        parts.append(f"{counters.failed} failed")
    if job.creating is None:
        parts.append(f"{counters.unmatched} unmatched")
    if job.selection is None:
        return f"{job.name}: {', '.join(parts)} of {plural(job.seen, f'uncoupled {job.system(Side.LOCAL)} record')}."
    left_out = f" ({plural(job.already_coupled, 'selected record')} already coupled)" if job.already_coupled else ""
    uncoupled = plural(job.seen, f"selected uncoupled {job.system(Side.LOCAL)} record")
    return f"{job.name}: {', '.join(parts)} of {uncoupled}{left_out}."
