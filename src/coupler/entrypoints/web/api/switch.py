"""The connection's *Enabled* switch over the API: off, no job runs (the pages' actions and the API's are refused
with the reason, `coupler run` waits). The switch is ``enabled`` in the configuration file (``config/edit.py``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from pydantic import BaseModel, Field

from coupler.config.edit import set_enabled
from coupler.entrypoints.web.deps import CouplerDep

__all__ = ["router"]

router = APIRouter(prefix="/connection", tags=["connection"])


class EnabledIn(BaseModel):
    enabled: bool = Field(description="On: synchronization and coupling run; off: no job runs.")


class EnabledOut(BaseModel):
    enabled: bool
    local: str = Field(description="The local system's name, as configured.")
    integration: str = Field(description="The integration system's name, as configured.")


def _state(coupler: CouplerDep) -> EnabledOut:
    systems = coupler.systems
    return EnabledOut(
        enabled=systems.enabled(), local=systems.local.display_name, integration=systems.integration.display_name
    )


@router.get("/enabled", response_model=EnabledOut)
def enabled(coupler: CouplerDep) -> EnabledOut:
    """Whether the connection is switched on."""
    return _state(coupler)


@router.put("/enabled", response_model=EnabledOut)
def switch(body: EnabledIn, coupler: CouplerDep) -> EnabledOut:
    """Switch the connection on or off; the configuration file keeps its comments, and its previous version."""
    set_enabled(Path(coupler.origin), body.enabled)
    return _state(coupler)
