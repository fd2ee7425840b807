"""Creating counterparts: insert records built from their source's mapped fields, in batches, and couple them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from coupler.domain.coupling import Coupling
from coupler.domain.errors import AlreadyCoupled
from coupler.domain.fingerprint import encode, tracked_pairs
from coupler.domain.fingerprint import of as fingerprint_of
from coupler.domain.mapping import Side
from coupler.domain.records import Record, WriteResult
from coupler.domain.transfer import MissingReference, Resolved
from coupler.domain.transforms import TransformError
from coupler.services.context import Systems
from coupler.services.passes import Pass

__all__ = ["Creator"]


class Creator:
    def __init__(self, systems: Systems) -> None:
        self.systems = systems

    def create(
        self, run: Pass, sources: Sequence[Record], resolved: Resolved | None = None
    ) -> list[tuple[Record, WriteResult]]:
        """Create and couple the counterparts of uncoupled ``sources``; one result per source, in order."""
        if not sources:
            return []
        results = self.insert(run, sources, resolved)
        created = [
            self.coupling_for(run, source, result, resolved)
            for source, result in zip(sources, results, strict=True)
            if result.ok and result.key is not None
        ]
        run.recorder.counters.inserted += len(created)
        self.couple(run, created)
        return list(zip(sources, results, strict=True))

    def insert(self, run: Pass, sources: Sequence[Record], resolved: Resolved | None = None) -> list[WriteResult]:
        """Insert the target records built from ``sources``; a source whose values cannot be built (a transform
        error, a reference not coupled yet) gets its error without an insert. One result per source, in order."""
        rows: list[dict[str, Any]] = []
        results: list[WriteResult | None] = []
        for index, source in enumerate(sources):
            try:
                rows.append(run.moves(source.values, resolved))
                results.append(None)
            except (TransformError, MissingReference) as error:
                waiting = isinstance(error, MissingReference)
                results.append(WriteResult(index=index, error=str(error), retryable=waiting, extra={"stage": "values"}))
        written = iter(self.systems.connector(run.target).insert(run.mapping.spec(run.target), rows) if rows else [])
        return [
            result if result is not None else replace(next(written), index=index)
            for index, result in enumerate(results)
        ]

    def coupling_for(
        self, run: Pass, source: Record, result: WriteResult, resolved: Resolved | None = None
    ) -> Coupling:
        """The coupling of ``source`` and the record just created from it: in sync, with its fingerprint."""
        assert result.key is not None
        written = run.moves(source.values, resolved)
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
            fingerprint=encode(fingerprint_of(tracked_pairs(run.mapping), local, integration)),
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
