"""Propagating deletions the source system reports (a deleted-entries feed): the coupled partner is deleted too.

Only for mappings with ``delete = "propagate"``. A deletion that is only inferred from a missing record is never
applied here: it waits in the pending-deletions list for a user's approval (see page.py and attention.py).
"""

from __future__ import annotations

from datetime import datetime

from coupler.domain.mapping import DeletePropagation
from coupler.services.context import Systems
from coupler.services.passes import Pass

__all__ = ["propagate_reported_deletions"]


def propagate_reported_deletions(systems: Systems, run: Pass, since: datetime | None) -> None:
    mapping = run.mapping
    if mapping.delete is not DeletePropagation.PROPAGATE:
        return
    deleted = systems.connector(run.source).deletions(mapping.spec(run.source), since)
    if not deleted:
        return
    store, counters = systems.store, run.recorder.counters
    for start in range(0, len(deleted), systems.batch_size):
        chunk = deleted[start : start + systems.batch_size]
        couplings = store.couplings(mapping.name, run.source, chunk)
        if not couplings:
            continue
        partners = [c.key(run.target) for c in couplings.values()]
        results = systems.connector(run.target).delete(mapping.spec(run.target), partners)
        gone = []
        for coupling, result in zip(couplings.values(), results, strict=True):
            missing = not result.ok and "does not exist" in (result.error or "")
            if result.ok or missing:
                gone.append(coupling)
                counters.deleted += 0 if missing else 1
                continue
            counters.failed += 1
            run.recorder.error(
                message=f"The {run.source.value} record {coupling.key(run.source)} was deleted; deleting its "
                f"{run.target.value} partner {coupling.key(run.target)} failed: {result.error}",
                local_key=coupling.local_key,
                integration_key=coupling.integration_key,
            )
        counters.uncoupled += store.remove_couplings(mapping.name, [c.local_key for c in gone])
        store.remove_pending_deletions(mapping.name, run.source, [c.key(run.source) for c in gone])
        run.recorder.flush()
