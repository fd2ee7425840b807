"""Values for the state store's contract tests, and a few helpers that write or read them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

from coupler.domain.coupling import Coupling, SyncResult
from coupler.domain.jobs import Job, JobError, JobKind
from coupler.domain.mapping import Direction, Side
from coupler.domain.state import (
    Conflict,
    ConflictField,
    ConflictKey,
    CreateIntent,
    FailureKey,
    PendingDeletion,
    RecordFailure,
)
from coupler.ports.store import StateStore

T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))
LOCAL, INTEGRATION = Side.LOCAL, Side.INTEGRATION
TO, FROM = Direction.TO_INTEGRATION, Direction.FROM_INTEGRATION
FAILURE, SUCCESS = SyncResult.FAILURE, SyncResult.SUCCESS


def coupling(local_key: str, integration_key: str | None = None, mapping: str = "customers", **kw: object) -> Coupling:
    return Coupling(
        mapping=mapping,
        local_key=local_key,
        integration_key=integration_key or f"i-{local_key}",
        coupled_at=T0,
        **kw,  # type: ignore[arg-type]
    )


def field(pair: str = "name", local: object = "A", integration: object = "B") -> ConflictField:
    return ConflictField(
        pair=pair,
        local_field=f"{pair}_l",
        integration_field=f"{pair}_i",
        local_value=local,
        integration_value=integration,
        last_local="old",
        last_integration="old",
    )


def conflict(local_key: str, mapping: str = "customers", *fields: ConflictField, at: datetime = T0) -> Conflict:
    return Conflict(
        mapping=mapping,
        local_key=local_key,
        integration_key=f"i-{local_key}",
        fields=fields or (field(),),
        detected_at=at,
        job_id="job-1",
    )


def failure(key: str, side: Side = LOCAL, mapping: str = "customers", **kw: object) -> RecordFailure:
    values: dict[str, object] = {"message": "boom", "job_id": "job-1", "at": T0, **kw}
    return RecordFailure(mapping=mapping, side=side, key=key, **values)  # type: ignore[arg-type]


def deletion(
    key: str, side: Side = LOCAL, mapping: str = "customers", at: datetime = T0, **kw: bool
) -> PendingDeletion:
    return PendingDeletion(
        mapping=mapping, side=side, deleted_key=key, survivor_key=f"s-{key}", detected_at=at, job_id="job-1", **kw
    )


def intent(source: str, direction: Direction = TO, mapping: str = "customers", at: datetime = T0) -> CreateIntent:
    return CreateIntent(mapping=mapping, direction=direction, source_key=source, target_key=f"t-{source}", at=at)


def settled(local_key: str, mapping: str = "customers") -> ConflictKey:
    return ConflictKey(mapping=mapping, local_key=local_key)


def cleared(key: str, side: Side = LOCAL, mapping: str = "customers") -> FailureKey:
    return FailureKey(mapping=mapping, side=side, key=key)


def job(job_id: str = "job-1", mapping: str = "customers", started_at: datetime = T0) -> Job:
    return Job(id=job_id, mapping=mapping, kind=JobKind.FULL, direction="bidirectional", started_at=started_at)


def error(job_id: str = "job-1", message: str = "boom", at: datetime = T0, mapping: str = "customers") -> JobError:
    return JobError(
        job_id=job_id, mapping=mapping, local_key="L1", integration_key="I1", message=message, detail="trace", at=at
    )


def keys_of(conflicts: list[Conflict]) -> list[tuple[str, str]]:
    return [(c.mapping, c.local_key) for c in conflicts]


def all_couplings(store: StateStore, mapping: str = "customers") -> list[Coupling]:
    return store.couplings.page(mapping, limit=10_000)


def couplings_in_every_state(store: StateStore) -> None:
    """Nine couplings: failed one way, the other, both, failed and skipped, synchronized, never synchronized,
    skipped, and one of another mapping."""
    to_failed = {"to_integration_result": FAILURE}
    from_failed = {"from_integration_result": FAILURE}
    store.couplings.add(
        [
            coupling("a1", **to_failed),
            coupling("a2", **from_failed),
            coupling("a3", **to_failed, from_integration_result=FAILURE),
            coupling("a4", **to_failed, skipped=True),
            coupling("a5", to_integration_result=SUCCESS, from_integration_result=SUCCESS),
            coupling("a6", **to_failed),
            coupling("a7"),
            coupling("a8", **to_failed, mapping="vendors"),
            coupling("a9", skipped=True),
        ]
    )


class _Keyed(Protocol):
    @property
    def local_key(self) -> str: ...


def local_keys_by_page(read: Callable[[str | None, int], Sequence[_Keyed]], size: int) -> list[list[str]]:
    """The local keys of each page ``read(after, limit)`` gives, from the start to the first empty page, each page
    resuming after the last key of the one before and holding ``size`` at most."""
    pages: list[list[str]] = []
    after: str | None = None
    while page := read(after, size):
        assert len(page) <= size
        pages.append([item.local_key for item in page])
        after = page[-1].local_key
    return pages


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)
