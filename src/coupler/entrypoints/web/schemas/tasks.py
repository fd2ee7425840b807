"""The JSON shapes of the REST API's background tasks: the requests that start one and a task's progress."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from coupler.domain.mapping import Direction
from coupler.entrypoints.schemas.base import Out, Time
from coupler.entrypoints.web.schemas.common import MAX_TASK_REFS, Name, Ref, StrictIn
from coupler.entrypoints.web.tasks import Task

__all__ = ["DecoupleAllIn", "MatchIn", "SyncFullIn", "SyncModifiedIn", "TaskOut", "TaskSyncIn"]


class TaskSyncIn(StrictIn):
    mapping: Name
    refs: list[Ref] = Field(min_length=1, max_length=MAX_TASK_REFS)
    direction: Direction | None = None


class SyncModifiedIn(StrictIn):
    mappings: list[Name] | None = Field(None, max_length=100, description="These mappings (default: all).")


class SyncFullIn(StrictIn):
    mapping: Name
    force: bool = Field(False, description="Run a first full synchronization even though both sides hold records.")


class DecoupleAllIn(StrictIn):
    mapping: Name = Field(description="The table mapping whose couplings are all removed (the records stay).")


class MatchIn(StrictIn):
    mapping: Name
    groups: list[list[Name]] | None = Field(
        None, max_length=20, description="Groups of local fields tried in order (default: the match priorities)."
    )
    create_missing: bool = False
    sync_after: Literal["local", "integration", "both"] | None = None
    refs: list[Ref] | None = Field(
        None,
        min_length=1,
        max_length=MAX_TASK_REFS,
        description="Only these local records (key or display key); default: every uncoupled local record. An "
        "unknown one fails the task, naming it.",
    )


class TaskOut(Out):
    id: str
    label: str
    state: Literal["running", "done", "failed"]
    stage: str | None
    done: int = Field(description="Records done in the current stage.")
    total: int | None = Field(description="Records in the current stage, when known.")
    percent: int | None = Field(description="How far the current stage is (0-100), when its total is known.")
    job_ids: list[str]
    message: str | None
    error: str | None
    problems: str | None = Field(
        None, description="What a finished task's jobs left to look at ('1 conflict, 2 failed'); null when nothing."
    )
    started_at: Time
    finished_at: Time | None

    @classmethod
    def of(cls, task: Task) -> TaskOut:
        return cls.model_validate(task)
