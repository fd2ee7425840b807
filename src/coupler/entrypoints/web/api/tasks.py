"""The API's background work: full synchronization, match-based coupling, incremental runs, decouple all and large
selections run as tasks; their progress is polled at /api/tasks/{id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from coupler.adapters.queue.client import Work as Kind
from coupler.domain.errors import RecordNotFound
from coupler.domain.mapping import Side
from coupler.entrypoints.web.deps import CouplerDep, StateDep
from coupler.entrypoints.web.queued import Asked
from coupler.entrypoints.web.schemas.tasks import (
    DecoupleAllIn,
    MatchIn,
    SyncFullIn,
    SyncModifiedIn,
    TaskOut,
    TaskSyncIn,
)
from coupler.entrypoints.web.tasks import TaskProgress, Work
from coupler.services.api import Coupler
from coupler.services.engine.recorder import JobReport
from coupler.services.operations.matching import SyncAfter

__all__ = ["router"]

router = APIRouter(prefix="/tasks", tags=["tasks"])

_SYNC_AFTER: dict[str, SyncAfter] = {"local": Side.LOCAL, "integration": Side.INTEGRATION, "both": "both"}


@router.get("", response_model=list[TaskOut])
def tasks(state: StateDep, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[TaskOut]:
    """The latest background tasks, newest first."""
    return [TaskOut.of(t) for t in state.recent_tasks(limit)]


@router.get("/{task_id}", response_model=TaskOut)
def task(task_id: Annotated[str, Path(min_length=1, max_length=64)], state: StateDep) -> TaskOut:
    """A task's progress: state, records done, the jobs it ran and, when finished, a summary or the error."""
    found = state.task(task_id)
    if found is None:
        raise RecordNotFound(f"No task has the id {task_id!r} (tasks are kept while the server runs).")
    return TaskOut.of(found)


@router.post("/sync", response_model=TaskOut, status_code=202)
def sync(body: TaskSyncIn, state: StateDep, coupler: CouplerDep) -> TaskOut:
    """Synchronize now, in the background: a large selection of coupled records."""
    name = coupler.systems.mapping(body.mapping).name
    refs, direction = list(body.refs), body.direction

    def work(c: Coupler, _: TaskProgress) -> JobReport:
        return c.sync(name, refs, direction=direction)

    arguments = {"refs": refs, "direction": direction.value if direction else None}
    asked = Asked(work=Kind.SYNC_NOW, mapping=name, arguments=arguments)
    return _submit(state, f"Synchronize {len(refs)} {name} record(s)", work, asked)


@router.post("/sync-modified", response_model=TaskOut, status_code=202)
def sync_modified(body: SyncModifiedIn, state: StateDep, coupler: CouplerDep) -> TaskOut:
    """Synchronize modified records of every mapping (or those named), in dependency order."""
    names = [coupler.systems.mapping(n).name for n in body.mappings] if body.mappings else None

    def work(c: Coupler, _: TaskProgress) -> list[JobReport]:
        return c.sync_modified(names)

    order = [m.name for m in coupler.systems.in_dependency_order(names)]
    asked = Asked(work=Kind.INCREMENTAL, mapping=order[0], then=tuple(order[1:]))
    label = f"Synchronize modified records ({', '.join(names) if names else 'all mappings'})"
    return _submit(state, label, work, asked)


@router.post("/sync-full", response_model=TaskOut, status_code=202)
def sync_full(body: SyncFullIn, state: StateDep, coupler: CouplerDep) -> TaskOut:
    """Run a full synchronization. A first one while both sides hold records is refused (the task fails saying
    so; GET /api/mappings/{mapping}/review explains) unless ``force``."""
    name = coupler.systems.mapping(body.mapping).name
    force = body.force

    def work(c: Coupler, _: TaskProgress) -> JobReport:
        return c.sync_full(name, force=force)

    asked = Asked(work=Kind.FULL, mapping=name, arguments={"force": force})
    return _submit(state, f"Full synchronization of {name}", work, asked)


@router.post("/match", response_model=TaskOut, status_code=202)
def match(body: MatchIn, state: StateDep, coupler: CouplerDep) -> TaskOut:
    """Match-based coupling of the uncoupled local records (or of those ``refs`` names), optionally creating the
    rest and synchronizing."""
    name = coupler.systems.mapping(body.mapping).name
    groups, refs = body.groups, body.refs
    sync_after: SyncAfter = None if body.sync_after is None else _SYNC_AFTER[body.sync_after]
    create_missing = body.create_missing

    def work(c: Coupler, _: TaskProgress) -> JobReport:
        return c.match(name, groups=groups, create_missing=create_missing, sync_after=sync_after, refs=refs)

    label = (
        f"Match-based coupling of {name}" if refs is None else f"Match-based coupling of {len(refs)} {name} record(s)"
    )
    arguments = {"groups": groups, "create_missing": create_missing, "sync_after": body.sync_after, "refs": refs}
    return _submit(state, label, work, Asked(work=Kind.MATCH, mapping=name, arguments=arguments))


@router.post("/decouple-all", response_model=TaskOut, status_code=202)
def decouple_all(body: DecoupleAllIn, state: StateDep, coupler: CouplerDep) -> TaskOut:
    """Decouple all: remove every coupling of the mapping (with its synchronization state and parked conflicts),
    batch by batch in one job; the records themselves stay as they are."""
    name = coupler.systems.mapping(body.mapping).name

    def work(c: Coupler, _: TaskProgress) -> JobReport:
        return c.decouple_all(name)

    asked = Asked(work=Kind.DECOUPLE, mapping=name, arguments={"everything": True})
    return _submit(state, f"Decouple all records of {name}", work, asked)


def _submit(state: StateDep, label: str, work: Work, asked: Asked) -> TaskOut:
    return TaskOut.of(state.background(label, work, asked))
