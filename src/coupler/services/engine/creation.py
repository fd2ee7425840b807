"""Creating counterparts: insert records built from their source's mapped fields, in batches, and couple them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from coupler.domain.coupling import Coupling
from coupler.domain.errors import AlreadyCoupled
from coupler.domain.fingerprint import canonical, encode, tracked_pairs
from coupler.domain.fingerprint import of_mapping as fingerprint_of_mapping
from coupler.domain.mapping import Side
from coupler.domain.records import Record, WriteResult
from coupler.domain.state import CreateIntent
from coupler.domain.transfer import MissingReference, Resolved
from coupler.domain.transforms.pipeline import TransformError
from coupler.services.context import Systems
from coupler.services.engine.passes import Pass

__all__ = ["Creator"]


class Creator:
    def __init__(self, systems: Systems) -> None:
        self.systems = systems

    def create(
        self, run: Pass, sources: Sequence[Record], resolved: Resolved | None = None
    ) -> list[tuple[Record, WriteResult]]:
        """Create and couple the counterparts of uncoupled ``sources``; one result per source, in order."""
        results, created = self.prepare(run, sources, resolved)
        self.couple(run, created)
        self.systems.store.drop_intents(run.mapping.name, run.direction, [s.key for s in sources])
        return results

    def prepare(
        self, run: Pass, sources: Sequence[Record], resolved: Resolved | None = None
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
        return list(zip(sources, results, strict=True)), created

    def recover(self, run: Pass) -> None:
        """Finish what an interrupted run left: records created from an intent but never coupled are coupled now
        (never created twice); intents whose record was not created, or is coupled already, are dropped."""
        store, mapping = self.systems.store, run.mapping
        while intents := store.intents(mapping.name, run.direction, limit=self.systems.batch_size):
            coupled = store.couplings(mapping.name, run.source, [i.source_key for i in intents])
            open_ = [i for i in intents if i.source_key not in coupled]
            targets = self._read(run, run.target, [i.target_key for i in open_])
            # a created record is coupled even if its source was deleted since: the deletion policy then decides,
            # as for any coupled record whose partner is gone (it never silently comes back as a new record)
            recovered = [self._recovered(run, i, targets[i.target_key]) for i in open_ if i.target_key in targets]
            self.couple(run, recovered)
            if recovered:
                run.recorder.notice(
                    f"{len(recovered)} record(s) created by an interrupted run were found and coupled, "
                    "not created again."
                )
            store.drop_intents(mapping.name, run.direction, [i.source_key for i in intents])

    def _read(self, run: Pass, side: Side, keys: Sequence[str]) -> dict[str, Record]:
        if not keys:
            return {}
        spec, columns = run.mapping.spec(side), run.mapping.columns(side)
        return {r.key: r for r in self.systems.connector(side).read(spec, keys, columns=columns)}

    def _recovered(self, run: Pass, intent: CreateIntent, target: Record) -> Coupling:
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
        self, run: Pass, sources: Sequence[Record], resolved: Resolved | None = None, *, intents: bool = False
    ) -> list[WriteResult]:
        """Insert the target records built from ``sources``; a source whose values cannot be built (a transform
        error, a reference not coupled yet) gets its error without an insert. One result per source, in order.

        With ``intents``, where the target lets coupler choose keys, the keys are chosen and recorded in the state
        store first, so that a crash between creating and coupling is recovered by ``recover``."""
        rows: list[dict[str, Any]] = []
        built: list[Record] = []
        results: list[WriteResult | None] = []
        for index, source in enumerate(sources):
            try:
                rows.append(run.moves(source.values, resolved))
                built.append(source)
                results.append(None)
            except (TransformError, MissingReference) as error:
                waiting = isinstance(error, MissingReference)
                results.append(WriteResult(index=index, error=str(error), retryable=waiting, extra={"stage": "values"}))
        target, spec = self.systems.connector(run.target), run.mapping.spec(run.target)
        if intents and rows and (keys := target.new_keys(spec, len(rows))) is not None:
            now = self.systems.clock()
            for row, key in zip(rows, keys, strict=True):
                row[spec.key] = key
            self.systems.store.add_intents(
                [
                    CreateIntent(
                        mapping=run.mapping.name,
                        direction=run.direction,
                        source_key=source.key,
                        target_key=key,
                        at=now,
                        values={k: canonical(v) for k, v in row.items() if k != spec.key},
                    )
                    for source, key, row in zip(built, keys, rows, strict=True)
                ]
            )
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

    def coupling_for(
        self, run: Pass, source: Record, result: WriteResult, resolved: Resolved | None = None
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
            fingerprint=encode(fingerprint_of_mapping(run.mapping, local, integration)),
        )

    def couple(self, run: Pass, created: Sequence[Coupling]) -> None:
        """Add the couplings; one that became coupled meanwhile (a concurrent run) fails alone, named."""
        store, counters = self.systems.store, run.recorder.counters
        try:
            store.add_couplings(created)
            counters.coupled += len(created)
            return
        except AlreadyCoupled:
            pass
        for coupling in created:
            try:
                store.add_couplings([coupling])
                counters.coupled += 1
            except AlreadyCoupled as error:
                counters.failed += 1
                run.recorder.error(
                    message=error.message, local_key=coupling.local_key, integration_key=coupling.integration_key
                )
