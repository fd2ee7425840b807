"""Propagating deletions the source system reports (a deleted-entries feed): the coupled partner is deleted too.

Only for mappings with ``delete = "propagate"``. A deletion that is only inferred from a missing record is never
applied here: it waits in the pending-deletions list for a user's approval (see chunk.py and operations/attention.py).

The feed's cursor (a Dataverse delta token) is kept in the state store per mapping and side, so change tracking
goes on across runs and processes. It is saved only once every deletion it reported is handled (the partner
deleted, or the failure recorded as a pending deletion to approve): a run that stops in between reads the same
deletions again, and deleting a partner already gone costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from coupler.domain.coupling import Coupling
from coupler.domain.mapping import DeletePropagation
from coupler.domain.state import PendingDeletion, StateChanges
from coupler.services.context import Systems
from coupler.services.engine.one_way import OneWayRun
from coupler.services.wording import AWAITS_APPROVAL

__all__ = ["delete_partners", "propagate_reported_deletions"]


def propagate_reported_deletions(systems: Systems, run: OneWayRun, since: datetime | None) -> None:
    mapping, store = run.mapping, systems.store
    if mapping.delete is not DeletePropagation.PROPAGATE:
        return
    cursor = store.cursors.deletions_cursor(mapping.name, run.source)
    reported = systems.connector(run.source).deletions(mapping.spec(run.source), since, cursor=cursor)
    if reported is None:
        return
    if reported.restarted and cursor is not None:
        run.recorder.notice(
            f"{run.system(run.source)}'s feed of deleted {mapping.spec(run.source).title} records started over (its "
            "cursor expired): each record deleted meanwhile is noticed as a missing partner; its partner's deletion "
            f"{AWAITS_APPROVAL}."
        )
    deleted = list(dict.fromkeys(reported.keys))
    for start in range(0, len(deleted), systems.batch_size):
        delete_partners(systems, run, deleted[start : start + systems.batch_size])
    if reported.cursor != cursor:
        store.cursors.set_deletions_cursor(mapping.name, run.source, reported.cursor)


def delete_partners(systems: Systems, run: OneWayRun, chunk: Sequence[str]) -> None:
    """Delete the partners of one batch of reported deletions; a partner that cannot be deleted waits in the
    pending-deletions list (approving it tries again)."""
    mapping, store, counters = run.mapping, systems.store, run.recorder.counters
    couplings = store.couplings.find(mapping.name, run.source, chunk)
    if not couplings:
        return
    partners = [c.key(run.target) for c in couplings.values()]
    results = systems.connector(run.target).delete(mapping.spec(run.target), partners)
    gone: list[Coupling] = []
    waiting: list[PendingDeletion] = []
    for coupling, result in zip(couplings.values(), results, strict=True):
        missing = not result.ok and "does not exist" in (result.error or "")
        if result.ok or missing:
            gone.append(coupling)
            counters.deleted += 0 if missing else 1
            continue
        counters.failed += 1
        run.recorder.error(
            message=f"A {mapping.records_of(run.source, run.system(run.source))} was deleted; deleting its coupled "
            f"{run.target_records} failed: {result.error}. The deletion {AWAITS_APPROVAL}.",
            local_key=coupling.local_key,
            integration_key=coupling.integration_key,
        )
        waiting.append(
            PendingDeletion(
                mapping=mapping.name,
                side=run.source,
                deleted_key=coupling.key(run.source),
                survivor_key=coupling.key(run.target),
                detected_at=systems.clock(),
                job_id=run.job_id,
                reported=True,
            )
        )
    counters.uncoupled += store.couplings.remove(mapping.name, [c.local_key for c in gone])
    store.attention.remove_pending_deletions(mapping.name, run.source, [c.key(run.source) for c in gone])
    run.recorder.flush(StateChanges(deletions=tuple(waiting)))
