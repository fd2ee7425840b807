"""Conversions between database rows and the state kept beside couplings: parked conflicts (their fields as JSON
text), failures of uncoupled records, pending deletions and intents to create."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from coupler.domain.mapping import Direction, Side
from coupler.domain.state import Conflict, ConflictField, CreateIntent, PendingDeletion, RecordFailure

__all__ = [
    "CONFLICT_FIELDS",
    "DELETION_FIELDS",
    "FAILURE_FIELDS",
    "INTENT_FIELDS",
    "conflict_from_row",
    "conflict_values",
    "decode_fields",
    "deletion_from_row",
    "deletion_values",
    "encode_fields",
    "failure_from_row",
    "failure_values",
    "intent_from_row",
    "intent_values",
]

CONFLICT_FIELDS = ("mapping", "local_key", "integration_key", "fields", "detected_at", "job_id")
FAILURE_FIELDS = ("mapping", "side", "key", "message", "job_id", "at", "failure_count", "skipped")
DELETION_FIELDS = ("mapping", "side", "deleted_key", "survivor_key", "detected_at", "job_id", "reported")
INTENT_FIELDS = ("mapping", "direction", "source_key", "target_key", "at")

_SIDES: dict[str, Side] = {s.value: s for s in Side}
_DIRECTIONS: dict[str, Direction] = {d.value: d for d in Direction}


def encode_fields(fields: Sequence[ConflictField]) -> str:
    """The fields as a JSON list of objects; a value that is not JSON-ready raises TypeError."""
    return json.dumps([asdict(f) for f in fields], ensure_ascii=False, separators=(",", ":"))


def decode_fields(text: str) -> tuple[ConflictField, ...]:
    return tuple(ConflictField(**item) for item in json.loads(text))


def conflict_values(c: Conflict) -> dict[str, Any]:
    return {
        "mapping": c.mapping,
        "local_key": c.local_key,
        "integration_key": c.integration_key,
        "fields": encode_fields(c.fields),
        "detected_at": c.detected_at,
        "job_id": c.job_id,
    }


def conflict_from_row(row: Sequence[Any]) -> Conflict:
    mapping, local_key, integration_key, fields, detected_at, job_id = row
    return Conflict(
        mapping=mapping,
        local_key=local_key,
        integration_key=integration_key,
        fields=decode_fields(fields),
        detected_at=detected_at,
        job_id=job_id,
    )


def failure_values(f: RecordFailure) -> dict[str, Any]:
    return {
        "mapping": f.mapping,
        "side": Side(f.side).value,
        "key": f.key,
        "message": f.message,
        "job_id": f.job_id,
        "at": f.at,
        "failure_count": f.failure_count,
        "skipped": f.skipped,
    }


def failure_from_row(row: Sequence[Any]) -> RecordFailure:
    mapping, side, key, message, job_id, at, failure_count, skipped = row
    return RecordFailure(
        mapping=mapping,
        side=_SIDES[side],
        key=key,
        message=message,
        job_id=job_id,
        at=at,
        failure_count=failure_count,
        skipped=bool(skipped),
    )


def deletion_values(d: PendingDeletion) -> dict[str, Any]:
    return {
        "mapping": d.mapping,
        "side": Side(d.side).value,
        "deleted_key": d.deleted_key,
        "survivor_key": d.survivor_key,
        "detected_at": d.detected_at,
        "job_id": d.job_id,
        "reported": d.reported,
    }


def deletion_from_row(row: Sequence[Any]) -> PendingDeletion:
    mapping, side, deleted_key, survivor_key, detected_at, job_id, reported = row
    return PendingDeletion(
        mapping=mapping,
        side=_SIDES[side],
        deleted_key=deleted_key,
        survivor_key=survivor_key,
        detected_at=detected_at,
        job_id=job_id,
        reported=bool(reported),
    )


def intent_values(i: CreateIntent) -> dict[str, Any]:
    return {
        "mapping": i.mapping,
        "direction": Direction(i.direction).value,
        "source_key": i.source_key,
        "target_key": i.target_key,
        "at": i.at,
    }


def intent_from_row(row: Sequence[Any]) -> CreateIntent:
    mapping, direction, source_key, target_key, at = row
    return CreateIntent(
        mapping=mapping, direction=_DIRECTIONS[direction], source_key=source_key, target_key=target_key, at=at
    )
