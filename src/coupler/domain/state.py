"""State that coupler keeps beside couplings: parked conflicts, failures of uncoupled records, pending deletions,
intents to create records (for crash safety), the locks runs hold; and ``StateChanges``, what one chunk of records
changes in all of it. Values only; the state store persists them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from coupler.domain.coupling import Coupling
from coupler.domain.fingerprint import canonical
from coupler.domain.mapping import Direction, Side

__all__ = [
    "NO_CHANGES",
    "Conflict",
    "ConflictField",
    "ConflictKey",
    "CreateIntent",
    "FailureKey",
    "FindAgain",
    "IntentKey",
    "Lock",
    "PendingDeletion",
    "RecordFailure",
    "StateChanges",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class ConflictField:
    """One field changed to different values on both sides since the last sync. Values are JSON-ready."""

    pair: str
    local_field: str
    integration_field: str
    local_value: Any
    integration_value: Any
    last_local: Any
    last_integration: Any


@dataclass(frozen=True, kw_only=True, slots=True)
class Conflict:
    """A parked conflict: the record pair is not written until a user resolves it."""

    mapping: str
    local_key: str
    integration_key: str
    fields: tuple[ConflictField, ...]
    detected_at: datetime
    job_id: str

    @property
    def pairs(self) -> tuple[str, ...]:
        return tuple(f.pair for f in self.fields)


@dataclass(frozen=True, kw_only=True, slots=True)
class ConflictKey:
    """Which parked conflict: the one of the coupling of ``local_key`` in ``mapping``."""

    mapping: str
    local_key: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordFailure:
    """An uncoupled ``side`` record whose counterpart could not be created. Retried on each run; the same
    message twice in a row makes it skipped, as for coupled records."""

    mapping: str
    side: Side
    key: str
    message: str
    job_id: str
    at: datetime
    failure_count: int = 1
    skipped: bool = False

    def again(self, *, message: str, job_id: str, at: datetime, retryable: bool = False) -> RecordFailure:
        if retryable:
            return replace(self, message=message, job_id=job_id, at=at)
        count = self.failure_count + 1 if message == self.message else 1
        return replace(self, message=message, job_id=job_id, at=at, failure_count=count, skipped=count >= 2)


@dataclass(frozen=True, kw_only=True, slots=True)
class FailureKey:
    """Which failure of an uncoupled record: the one of the ``side`` record ``key`` in ``mapping``."""

    mapping: str
    side: Side
    key: str


@dataclass(frozen=True, kw_only=True, slots=True)
class PendingDeletion:
    """The ``side`` record ``deleted_key`` is gone; deleting its partner ``survivor_key`` waits for approval.

    ``reported`` is True when the system reported the deletion (a deleted-entries feed), False when it was inferred
    from the record's absence."""

    mapping: str
    side: Side
    deleted_key: str
    survivor_key: str
    detected_at: datetime
    job_id: str
    reported: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class FindAgain:
    """How a record created where the system assigns keys is found again when the creation's answer never came (or
    the run died before coupling it): the target's ``field`` holds ``value``, which coupler sent and the system
    keeps. ``unique``: the field is an alternate key, one record holds the value; otherwise it is a match field,
    and a record found by it must also hold every other value sent."""

    field: str
    value: str | int
    unique: bool = False

    @staticmethod
    def choose(row: Mapping[str, Any], *, alternate_key: str | None, match_fields: Sequence[str]) -> FindAgain | None:
        """How the record built as ``row`` can be found again: by the alternate key when the row gives it a value,
        else by the first match field with a value; None when the row holds neither (then nothing can tell the
        created record from others, and its creation cannot be made safe to repeat)."""
        if alternate_key is not None and (value := _identifying(row.get(alternate_key))) is not None:
            return FindAgain(field=alternate_key, value=value, unique=True)
        for name in match_fields:
            if (value := _identifying(row.get(name))) is not None:
                return FindAgain(field=name, value=value)
        return None

    def holds(self, found: Mapping[str, Any], sent: Mapping[str, Any]) -> bool:
        """Whether a record found by this value is the one created from ``sent`` (the canonical values of
        ``CreateIntent.values``): any record with the value of an alternate key, else one that holds every value
        sent (fields the record was read without aside). Text is compared ignoring case: a system may keep a code
        in capitals."""
        if not _same(canonical(found.get(self.field)), canonical(self.value)):
            return False
        return self.unique or all(_same(canonical(found[name]), value) for name, value in sent.items() if name in found)

    def as_json(self) -> list[Any]:
        return [self.field, self.value, self.unique]

    @staticmethod
    def from_json(data: Sequence[Any]) -> FindAgain:
        field, value, unique = data
        return FindAgain(field=field, value=value, unique=bool(unique))


def _same(found: Any, sent: Any) -> bool:
    if isinstance(found, str) and isinstance(sent, str):
        return found.casefold() == sent.casefold()
    return bool(found == sent)


def _identifying(value: Any) -> str | int | None:
    """A value that can name a record: non-blank text or a whole number."""
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


@dataclass(frozen=True, kw_only=True, slots=True)
class CreateIntent:
    """Written before records are created, so that after a crash, or a creation whose answer never came, the next
    run finds the created record and couples it instead of creating it again. ``target_key`` is the key chosen in
    advance; where the system assigns keys it is None and ``find`` says how the record is found again (without
    either, no intent is written)."""

    mapping: str
    direction: Direction
    source_key: str
    target_key: str | None
    at: datetime
    values: Mapping[str, Any] = field(default_factory=dict)
    """The target's values as sent, canonical (see fingerprint.canonical): what the created record held."""
    find: FindAgain | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class IntentKey:
    """Which intent to create: the one of the source record ``source_key`` of ``mapping`` in ``direction``."""

    mapping: str
    direction: Direction
    source_key: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Lock:
    """A named lock as the state store holds it: ``owner`` (a job id) holds it until ``until`` unless it renews it.
    ``host`` and ``pid`` name the process that took it (None for a lock taken before coupler recorded them), so that
    an administrator can tell a live owner from a dead one."""

    name: str
    owner: str
    until: datetime
    host: str | None = None
    pid: int | None = None

    def expired(self, now: datetime) -> bool:
        """Whether another owner may take it at ``now`` (the moment ``until`` itself still belongs to the owner)."""
        return self.until < now


@dataclass(frozen=True, kw_only=True, slots=True)
class StateChanges:
    """What one chunk of records changes in coupler's state, built once and saved at once (``StateStore.save``):
    all of it or none. What is stored is replaced first and removed second, so a conflict parked and settled in the
    same changes ends up settled (the same for a failure stored and cleared)."""

    couplings: tuple[Coupling, ...] = ()
    """Couplings to update, matched by mapping and local key: one no longer stored is left out; of two updates of
    one coupling the last wins."""
    new_couplings: tuple[Coupling, ...] = ()
    """Couplings to add: AlreadyCoupled, naming the keys, if either key of one is taken."""
    conflicts: tuple[Conflict, ...] = ()
    """Conflicts to park, each replacing the one parked for the same coupling."""
    settled: tuple[ConflictKey, ...] = ()
    """Parked conflicts to remove: settled."""
    failures: tuple[RecordFailure, ...] = ()
    """Failures of uncoupled records to store, each replacing the one of the same record."""
    cleared: tuple[FailureKey, ...] = ()
    """Failures to remove: the record was created, coupled meanwhile, or is gone."""
    deletions: tuple[PendingDeletion, ...] = ()
    """Deletions to wait for approval, each replacing the one of the same deleted record."""
    done_intents: tuple[IntentKey, ...] = ()
    """Intents to drop: their records were created and are coupled by ``new_couplings``."""


NO_CHANGES = StateChanges()
"""Nothing changes but the job's log (``StateStore.save``'s job and errors)."""
