"""Values for the state store tests of what is kept beside couplings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from coupler.domain.jobs import Job, JobKind
from coupler.domain.mapping import Direction, Side
from coupler.domain.state import Conflict, ConflictField, CreateIntent, PendingDeletion, RecordFailure

T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))
LOCAL, INTEGRATION = Side.LOCAL, Side.INTEGRATION
TO, FROM = Direction.TO_INTEGRATION, Direction.FROM_INTEGRATION


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


def job(job_id: str = "job-1") -> Job:
    return Job(id=job_id, mapping="customers", kind=JobKind.FULL, direction="bidirectional", started_at=T0)


def keys_of(conflicts: list[Conflict]) -> list[tuple[str, str]]:
    return [(c.mapping, c.local_key) for c in conflicts]
