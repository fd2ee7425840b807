"""The request bodies of the REST API's attention actions: retry, approve (a selection) and resolve."""

from __future__ import annotations

from pydantic import Field

from coupler.domain.mapping import Side
from coupler.entrypoints.web.schemas.common import MAX_REFS, Name, Ref, StrictIn

__all__ = ["ResolveIn", "SelectionIn"]


class SelectionIn(StrictIn):
    """Records named, or ``all`` of them (then ``refs`` stays empty)."""

    refs: list[Ref] = Field(default_factory=list, max_length=MAX_REFS)
    all: bool = False


class ResolveIn(StrictIn):
    use: Side = Field(description="The side whose values win.")
    fields: list[Name] = Field(
        default_factory=list, max_length=200, description="Only these fields (local, integration or pair names)."
    )
