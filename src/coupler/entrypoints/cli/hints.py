"""What the CLI adds to a message: the command that does what it says. The services' messages name no command, as
the web app shows the same messages with its own buttons and links."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from coupler.domain.errors import (
    ConnectionDisabled,
    CouplerError,
    MappingBusy,
    NoMatchFields,
    UnknownJob,
    WouldDuplicate,
)
from coupler.services.wording import AWAITS_APPROVAL

if TYPE_CHECKING:
    from coupler.services.engine.recorder import JobReport

__all__ = ["for_error", "for_reports", "with_hint"]


def for_error(error: CouplerError) -> str | None:
    """The command that helps with ``error``, in a sentence (None when none does)."""
    if isinstance(error, ConnectionDisabled):
        return "Switch it on with `coupler enable`."
    if isinstance(error, MappingBusy) and error.mapping:
        return f"`coupler unlock {error.mapping}` releases the lock of a run that is gone at once."
    if isinstance(error, UnknownJob):
        return "`coupler jobs` lists them."
    if isinstance(error, NoMatchFields):
        return f"Name them with --on (e.g. --on {error.example or 'FIELD'})."
    if isinstance(error, WouldDuplicate):
        first = f"Couple them with `{error.command}`; " if error.command else ""
        return f"{first}--force creates every uncoupled record anyway."
    return None


def for_reports(reports: Sequence[JobReport]) -> list[str]:
    """The commands that deal with what these jobs left: parked conflicts, deletions waiting for approval."""
    hints = []
    for report in reports:
        mapping = report.job.mapping
        if report.job.counters.conflicts:
            hints.append(
                f"Choose which values win: `coupler resolve {mapping} KEY --use local|integration` (or synchronize "
                f"the record with --direction); `coupler conflicts --mapping {mapping}` lists the conflicts."
            )
        if any(AWAITS_APPROVAL in error.message for error in report.errors):
            hints.append(
                f"`coupler deletions --mapping {mapping}` lists the deletions; `coupler approve {mapping}` carries "
                "them out."
            )
    return hints


def with_hint(error: CouplerError) -> str:
    """``error``'s message and the CLI's hint for it."""
    hint = for_error(error)
    return f"{error.message} {hint}" if hint else error.message
