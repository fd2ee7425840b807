"""Creating counterparts: insert records built from their source's mapped fields, in batches, and couple them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from coupler.domain.coupling import Coupling
from coupler.domain.errors import AlreadyCoupled
from coupler.domain.fingerprint import canonical, encode, encoded_of_mapping, tracked_pairs
from coupler.domain.mapping import Direction, Side
from coupler.domain.records import Record, RecordUpdate, WriteResult
from coupler.domain.state import CreateIntent, FindAgain
from coupler.domain.transfer import MissingReference, Resolved
from coupler.domain.transforms.pipeline import TransformError
from coupler.services.context import Systems
from coupler.services.engine.one_way import OneWayRun

__all__ = ["Creator"]


class Creator:
    def __init__(self, systems: Systems) -> None:
        self.systems = systems

    def create(
        self, run: OneWayRun, sources: Sequence[Record], resolved: Resolved | None = None
    ) -> list[tuple[Record, WriteResult]]:
        """Create and couple the counterparts of uncoupled ``sources``; one result per source, in order. What an
        interrupted or unanswered creation left is recovered first: a source whose record it had created is coupled
        to that record, not given a second one."""
        recovered = self.recover(run)
        fresh = [source for source in sources if source.key not in recovered]
        results, created = self.prepare(run, fresh, resolved)
        self.couple(run, created)  # a failed creation keeps its intent, read back before the next attempt
        self.stamp(run, [c.key(run.source) for c in created])
        done = [source.key for source, result in results if result.ok]
        self.systems.store.cursors.drop_intents(run.mapping.name, run.direction, done)
        made = iter(results)
        return [
            (source, WriteResult(index=index, key=recovered[source.key]))
            if source.key in recovered
            else (source, replace(next(made)[1], index=index))
            for index, source in enumerate(sources)
        ]

    def prepare(
        self, run: OneWayRun, sources: Sequence[Record], resolved: Resolved | None = None
    ) -> tuple[list[tuple[Record, WriteResult]], list[Coupling]]:
        """Create the counterparts (intents recorded first) and return the couplings to add, which the caller
        saves, e.g. together with the rest of its page in one transaction."""
        if not sources:
            return [], []
        results = self.insert(run, sources, resolved, intents=True)
        created = [
            self.coupling_for(run, source, result, resolved)
            for source, result in zip(sources, results, strict=True)
            if result.ok and result.key is not None
        ]
        run.recorder.counters.inserted += len(created)
        for source, result in zip(sources, results, strict=True):
            if result.ok and result.key is not None and run.recorder.writes_wanted:
                values = result.extra.get("values") or run.moves(source.values, resolved)
                run.wrote(source, values, key=result.key, before=None)
        return list(zip(sources, results, strict=True)), created

    @staticmethod
    def _constants_back(run: OneWayRun) -> dict[str, Any]:
        """The constants the mapping sends to ``run``'s source side (column -> value)."""
        back = Direction.from_source(run.direction.target)
        if not run.mapping.direction.allows(back):
            return {}
        return {
            name: f.constant
            for f in run.mapping.fields
            if f.has_constant and f.flows(back) and (name := f.field(back.target)) is not None
        }

    def stamps(self, run: OneWayRun) -> bool:
        """Whether the source records of ``run``'s creations get constants (see ``stamp``)."""
        return bool(self._constants_back(run))

    def stamp(self, run: OneWayRun, keys: Sequence[str]) -> None:
        """The constants the mapping sends the other way, written to the source records of new couplings: a pair
        holds them from the start, as Business Central stamps an account it created a customer from with the
        company (``CDSIntTableSubscriber.SetCompanyIdOnCRMAccount``). Called once the job's passes are done (a
        record written during a pass would be read again by it). A refusal is the job's error; the pair stays."""
        constants = self._constants_back(run)
        if not constants or not keys:
            return
        side = run.direction.source
        connector, spec = self.systems.connector(side), run.mapping.spec(side)
        named = [c for c in (spec.display_key, spec.name_field) if c and c not in constants]
        current = {r.key: r for r in connector.read(spec, keys, columns=[*constants, *named])}
        titles = {key: run.mapping.title(side, key, record.values) for key, record in current.items()}
        updates = [
            RecordUpdate(key=key, values=changed, version=None)
            for key, record in current.items()
            if (changed := {n: v for n, v in constants.items() if record.values.get(n) != v})
        ]
        for result in connector.update(spec, updates) if updates else []:
            if not result.ok:
                keys_of = {side: updates[result.index].key}
                run.recorder.error(
                    message=f"{run.mapping.records_of(side, self.systems.name(side))} "
                    f"{titles.get(updates[result.index].key, updates[result.index].key)}: coupled, but its constant "
                    f"fields could not be written: {result.error}",
                    local_key=keys_of.get(Side.LOCAL),
                    integration_key=keys_of.get(Side.INTEGRATION),
                )

    def recover(self, run: OneWayRun) -> dict[str, str]:
        """Finish what an interrupted run (or a creation whose answer never came) left: records created from an
        intent but never coupled are coupled now, never created twice; intents whose record was not created, or
        is coupled already, are dropped. Returns the target key of each source coupled here."""
        store, mapping = self.systems.store, run.mapping
        coupled: dict[str, str] = {}
        while intents := store.cursors.intents(mapping.name, run.direction, limit=self.systems.batch_size):
            known = store.couplings.find(mapping.name, run.source, [i.source_key for i in intents])
            open_ = [i for i in intents if i.source_key not in known]
            found = self._created(run, open_)
            # a created record is coupled even if its source was deleted since: the deletion policy then decides,
            # as for any coupled record whose partner is gone (it never silently comes back as a new record)
            recovered = [self._recovered(run, i, found[i.source_key]) for i in open_ if i.source_key in found]
            added = self.couple(run, recovered)
            if recovered:
                run.recorder.notice(
                    f"{len(recovered)} record(s) created by an interrupted run were found and coupled, "
                    "not created again."
                )
            coupled.update((c.key(run.source), c.key(run.target)) for c in added)
            store.cursors.drop_intents(mapping.name, run.direction, [i.source_key for i in intents])
        return coupled

    def _created(self, run: OneWayRun, intents: Sequence[CreateIntent]) -> dict[str, Record]:
        """The target records these intents created, by source key: read by the key chosen in advance, or found
        again by the value the intent names."""
        keyed = [i for i in intents if i.target_key is not None]
        targets = self._read(run, run.target, [i.target_key for i in keyed if i.target_key is not None])
        found = {i.source_key: targets[i.target_key] for i in keyed if i.target_key in targets}
        by_field: dict[str, list[CreateIntent]] = {}
        for intent in intents:
            if intent.target_key is None and intent.find is not None:
                by_field.setdefault(intent.find.field, []).append(intent)
        for field, group in by_field.items():
            found.update(self._found_again(run, field, group))
        return found

    def _read(self, run: OneWayRun, side: Side, keys: Sequence[str]) -> dict[str, Record]:
        if not keys:
            return {}
        spec, columns = run.mapping.spec(side), run.mapping.columns(side)
        return {r.key: r for r in self.systems.connector(side).read(spec, keys, columns=columns)}

    def _found_again(self, run: OneWayRun, field: str, intents: Sequence[CreateIntent]) -> dict[str, Record]:
        """Records of the target holding the values these intents name in ``field`` (whatever the mapping's
        filter: a record is created whether or not it falls in it), not coupled to another record, each given to
        the first intent it answers (see ``FindAgain.holds``)."""
        spec = replace(run.mapping.spec(run.target), filter=())
        columns = list(dict.fromkeys([*run.mapping.columns(run.target), field]))
        values = [i.find.value for i in intents if i.find is not None]
        candidates = self.systems.connector(run.target).find_any(spec, field, values, columns=columns)
        taken = self.systems.store.couplings.find(run.mapping.name, run.target, [c.key for c in candidates])
        free = [c for c in candidates if c.key not in taken]
        found: dict[str, Record] = {}
        for intent in intents:
            assert intent.find is not None
            match = next((c for c in free if intent.find.holds(c.values, intent.values)), None)
            if match is not None:
                found[intent.source_key] = match
                free.remove(match)
        return found

    def _recovered(self, run: OneWayRun, intent: CreateIntent, target: Record) -> Coupling:
        """A coupling for a record an interrupted run created. What was sent is the last synchronized state of
        both sides; either side may have changed since, so both modified-ons are left unknown and the pair's
        fields are compared with what was sent: each side's later changes still flow (or conflict)."""
        target_side = run.target
        fingerprint = {f.pair: [intent.values.get(f.field(target_side) or "")] * 2 for f in tracked_pairs(run.mapping)}
        return Coupling(
            mapping=run.mapping.name,
            local_key=intent.source_key if run.source is Side.LOCAL else target.key,
            integration_key=target.key if run.source is Side.LOCAL else intent.source_key,
            coupled_at=self.systems.clock(),
            fingerprint=encode(fingerprint),
        )

    def insert(
        self, run: OneWayRun, sources: Sequence[Record], resolved: Resolved | None = None, *, intents: bool = False
    ) -> list[WriteResult]:
        """Insert the target records built from ``sources``; a source whose values cannot be built (a transform
        error, a reference not coupled yet) gets its error without an insert. One result per source, in order.

        With ``intents``, the intents are recorded in the state store first (see ``_intend``), so that a crash
        between creating and coupling, or a creation whose answer never came, is recovered by ``recover``."""
        rows: list[dict[str, Any]] = []
        built: list[Record] = []
        results: list[WriteResult | None] = []
        for index, source in enumerate(sources):
            try:
                row = run.moves(source.values, resolved)
                run.moves.check(row)
                rows.append(row)
                built.append(source)
                results.append(None)
            except (TransformError, MissingReference) as error:
                waiting = isinstance(error, MissingReference)
                results.append(WriteResult(index=index, error=str(error), retryable=waiting, extra={"stage": "values"}))
        target, spec = self.systems.connector(run.target), run.mapping.spec(run.target)
        if intents and rows:
            self._intend(run, built, rows)
        written = iter(zip(target.insert(spec, rows), rows, strict=True) if rows else [])
        out = []
        for index, result in enumerate(results):
            if result is None:
                inserted, row = next(written)
                result = WriteResult(  # dataclasses.replace is several times slower on this hot path
                    index=index,
                    key=inserted.key,
                    modified_on=inserted.modified_on,
                    version=inserted.version,
                    error=inserted.error,
                    detail=inserted.detail,
                    retryable=inserted.retryable,
                    extra={**inserted.extra, "values": row},
                )
            out.append(result)
        return out

    def _intend(self, run: OneWayRun, sources: Sequence[Record], rows: list[dict[str, Any]]) -> None:
        """Record the intents to create ``rows`` from ``sources`` before anything is created: with the keys chosen
        now (put in the rows) where the target lets coupler choose them, else with the value each record can be
        found again by (a row with none gets no intent: its creation cannot be made safe to repeat)."""
        target, spec = self.systems.connector(run.target), run.mapping.spec(run.target)
        keys: Sequence[str | None] | None = target.new_keys(spec, len(rows))
        finds: list[FindAgain | None] = [None] * len(rows)
        if keys is None:
            keys = [None] * len(rows)
            alternate, match_fields = target.alternate_key(spec), run.mapping.match_fields(run.direction)
            finds = [FindAgain.choose(row, alternate_key=alternate, match_fields=match_fields) for row in rows]
        now = self.systems.clock()
        intents = []
        for source, row, key, find in zip(sources, rows, keys, finds, strict=True):
            if key is not None:
                row[spec.key] = key
            elif find is None:
                continue
            intents.append(
                CreateIntent(
                    mapping=run.mapping.name,
                    direction=run.direction,
                    source_key=source.key,
                    target_key=key,
                    at=now,
                    values={  # canonical(v), its common case (text) inline
                        k: (v or None) if type(v) is str else canonical(v) for k, v in row.items() if k != spec.key
                    },
                    find=find,
                )
            )
        if intents:
            self.systems.store.cursors.add_intents(intents)

    def coupling_for(
        self, run: OneWayRun, source: Record, result: WriteResult, resolved: Resolved | None = None
    ) -> Coupling:
        """The coupling of ``source`` and the record just created from it: in sync, with its fingerprint."""
        assert result.key is not None
        written = result.extra.get("values") or run.moves(source.values, resolved)
        local, integration = (source.values, written) if run.source is Side.LOCAL else (written, source.values)
        return Coupling.created(
            mapping=run.mapping.name,
            direction=run.direction,
            source_key=source.key,
            target_key=result.key,
            source_modified_on=source.modified_on,
            target_modified_on=result.modified_on,
            job_id=run.job_id,
            at=self.systems.clock(),
            fingerprint=encoded_of_mapping(run.mapping, local, integration),
        )

    def couple(self, run: OneWayRun, created: Sequence[Coupling]) -> list[Coupling]:
        """Add the couplings; one that became coupled meanwhile (a concurrent run) fails alone, named. Returns
        those added."""
        store, counters = self.systems.store, run.recorder.counters
        try:
            store.couplings.add(created)
            counters.coupled += len(created)
            return list(created)
        except AlreadyCoupled:
            pass
        added = []
        for coupling in created:
            try:
                store.couplings.add([coupling])
                counters.coupled += 1
                added.append(coupling)
            except AlreadyCoupled as error:
                counters.failed += 1
                run.recorder.error(
                    message=error.message, local_key=coupling.local_key, integration_key=coupling.integration_key
                )
        return added
