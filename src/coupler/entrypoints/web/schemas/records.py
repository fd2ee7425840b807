"""The request bodies of the REST API's record actions: couple, create and synchronize now."""

from __future__ import annotations

from pydantic import Field

from coupler.domain.mapping import Direction, Side
from coupler.entrypoints.web.schemas.common import Ref, RefsIn, StrictIn

__all__ = ["CoupleIn", "CreateIn", "SyncIn"]


class CoupleIn(StrictIn):
    local: Ref = Field(description="The local record: primary key or display key (e.g. the customer number).")
    integration: Ref = Field(description="The integration record: primary key or display key.")
    sync_after: Side | None = Field(None, description="Synchronize right after, using this side's data.")


class CreateIn(StrictIn):
    ref: Ref = Field(description="The record to create the counterpart of (its key or display key).")
    source: Side = Field(Side.LOCAL, description="The side that record is on.")


class SyncIn(RefsIn):
    direction: Direction | None = Field(
        None, description="Force a direction; by default the change rules decide (Synchronize now)."
    )
