"""What becomes of a coupled pair whose partner no longer exists: the deletion policies as one pure decision.

Business Central's *Deletion-Conflict Resolution* on an integration table mapping decides what happens when a
coupled record was deleted in one system: nothing (the record fails with a message: BC's "None"), restore the
deleted record from the survivor (BC's "Restore Records"), or remove the coupling (BC's "Remove Coupling"). coupler
adds ``delete = "propagate"``: the deletion is carried over to the survivor, but a deletion that was only inferred
from a missing partner waits for a user's approval. Like ``planning`` for updates, this module decides; the engine
carries the decision out.
"""

from __future__ import annotations

from enum import Enum

from coupler.domain.mapping import DeletePropagation, DeletionPolicy, TableMapping

__all__ = ["MissingPartner", "on_missing_partner"]


class MissingPartner(Enum):
    """What to do with a coupled record whose partner is gone."""

    AWAIT_APPROVAL = "await-approval"
    """Propagate the deletion once a user approves it (the record is marked, retried, and waits in deletions)."""
    RESTORE = "restore"
    """Re-create the partner from the survivor and couple them again."""
    DECOUPLE = "decouple"
    """Remove the coupling; the survivor stays as it is, uncoupled."""
    FAIL = "fail"
    """Report the record as failed: it cannot be synchronized while coupled to a deleted record."""


def on_missing_partner(mapping: TableMapping) -> MissingPartner:
    """The mapping's answer when a coupled record's partner no longer exists."""
    if mapping.delete is DeletePropagation.PROPAGATE:
        return MissingPartner.AWAIT_APPROVAL
    return _BY_POLICY[mapping.deletion_conflict]


_BY_POLICY = {
    DeletionPolicy.NONE: MissingPartner.FAIL,
    DeletionPolicy.RESTORE: MissingPartner.RESTORE,
    DeletionPolicy.REMOVE_COUPLING: MissingPartner.DECOUPLE,
}
