"""The REST API's request basics (validated, unknown keys refused) and its small answers of its own: the connection
state and a count of deleted entries."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "MAX_REFS",
    "MAX_TASK_REFS",
    "ConnectionOut",
    "DeletedOut",
    "Name",
    "Ref",
    "RefsIn",
    "StrictIn",
]

MAX_REFS = 1000  # records one request handles at once; more go through a background task
MAX_TASK_REFS = 100_000

Ref = Annotated[str, StringConstraints(min_length=1, max_length=250, pattern=r"^[^\x00-\x1f\x7f]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


class StrictIn(BaseModel):
    """A request body: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class RefsIn(StrictIn):
    refs: list[Ref] = Field(min_length=1, max_length=MAX_REFS, description="Keys or display keys (either side).")


class ConnectionOut(BaseModel):
    ok: bool = Field(description="Both systems and the state store answer; every mapped table and column exists.")
    problems: list[str] = Field(description="What is wrong, one line each.")


class DeletedOut(BaseModel):
    deleted: int
