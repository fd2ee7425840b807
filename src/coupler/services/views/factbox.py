"""The record card's panel about the integration system, after Business Central's FactBox "Dynamics 365 Sales": what
the record is coupled to, its last synchronization in each direction (when, and how it ended), its coupling status,
and where the coupled record opens in the integration system's own application."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.mapping import Direction
from coupler.services.context import Systems
from coupler.services.views.card import RecordCard

__all__ = ["CouplingStatus", "DirectionSync", "FactBox", "coupling_status", "factbox"]


class CouplingStatus(StrEnum):
    COUPLED = "coupled"
    NOT_COUPLED = "not coupled"
    SKIPPED = "skipped"
    """Failed twice in a row the same way: left out of synchronization until retried."""
    CONFLICT = "in conflict"
    FAILED = "failed"


def coupling_status(coupling: Coupling | None) -> CouplingStatus:
    """The most pressing of the coupling's states: skipped, then in conflict, then failed, else coupled."""
    if coupling is None:
        return CouplingStatus.NOT_COUPLED
    if coupling.skipped:
        return CouplingStatus.SKIPPED
    if coupling.in_conflict:
        return CouplingStatus.CONFLICT
    if SyncResult.FAILURE in (coupling.to_integration_result, coupling.from_integration_result):
        return CouplingStatus.FAILED
    return CouplingStatus.COUPLED


@dataclass(frozen=True, kw_only=True, slots=True)
class DirectionSync:
    """The last synchronization of the coupled pair in one direction: the job that ran it, when, and its result."""

    direction: Direction
    result: SyncResult | None
    """None: never synchronized this way."""
    job_id: str | None
    at: datetime | None
    """When that job ended (or started, while it runs); None when it is no longer in the log."""


@dataclass(frozen=True, kw_only=True, slots=True)
class FactBox:
    status: CouplingStatus
    coupled_to: str | None
    """The coupled integration record as a user knows it ("Fabrikam, Inc."); None when not coupled."""
    url: str | None
    """Where the integration record opens in its system's application, if it has such a page."""
    syncs: tuple[DirectionSync, ...]
    """One per direction the mapping synchronizes (none when not coupled)."""


def factbox(systems: Systems, card: RecordCard) -> FactBox:
    """The card's FactBox: two reads of the job log at most (the last job of each direction)."""
    coupling = card.coupling
    url = card.integration_url
    if url is None and card.integration is not None:
        url = systems.integration.record_url(card.mapping.integration, card.integration.key)
    if coupling is None:
        return FactBox(status=CouplingStatus.NOT_COUPLED, coupled_to=None, url=url, syncs=())
    syncs = []
    for direction in card.mapping.direction.one_way:
        job_id = coupling.job(direction)
        job = systems.store.jobs.get(job_id) if job_id else None
        at = (job.finished_at or job.started_at) if job is not None else None
        syncs.append(DirectionSync(direction=direction, result=coupling.result(direction), job_id=job_id, at=at))
    return FactBox(
        status=coupling_status(coupling),
        coupled_to=card.integration_title or card.integration_name,
        url=url,
        syncs=tuple(syncs),
    )
