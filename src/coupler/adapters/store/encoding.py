"""Conversions between database rows and the state kept beside couplings: parked conflicts (their fields as JSON
text), failures of uncoupled records, pending deletions and intents to create."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from coupler.domain.mapping import Direction, Side
from coupler.domain.state import Conflict, ConflictField, CreateIntent, FindAgain, PendingDeletion, RecordFailure
from coupler.domain.timeutil import to_utc

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
    "intent_batch_values",
    "intents_from_row",
]

CONFLICT_FIELDS = ("mapping", "local_key", "integration_key", "fields", "detected_at", "job_id")
FAILURE_FIELDS = ("mapping", "side", "key", "message", "job_id", "at", "failure_count", "skipped")
DELETION_FIELDS = ("mapping", "side", "deleted_key", "survivor_key", "detected_at", "job_id", "reported")
INTENT_FIELDS = ("id", "mapping", "direction", "pairs", "at")

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


def intent_batch_values(mapping: str, direction: Direction, batch: Sequence[CreateIntent]) -> dict[str, Any]:
    """One row for a batch of intents of one mapping and direction, as JSON: per intent [source key, target key,
    time, values], and where the target assigns keys (no target key) how the record is found again as a fifth
    item [field, value, unique]."""
    stamps = {at: to_utc(at).isoformat() for at in {i.at for i in batch}}  # one per batch, usually
    return {
        "mapping": mapping,
        "direction": Direction(direction).value,
        "pairs": json.dumps(
            [
                [
                    i.source_key,
                    i.target_key,
                    stamps[i.at],
                    i.values if type(i.values) is dict else dict(i.values),
                    *([i.find.as_json()] if i.find is not None else []),
                ]
                for i in batch
            ],
            separators=(",", ":"),
        ),
        "at": min(i.at for i in batch),
    }


def intents_from_row(row: Sequence[Any]) -> list[CreateIntent]:
    _id, mapping, direction, pairs, _at = row
    way = _DIRECTIONS[direction]
    return [
        CreateIntent(
            mapping=mapping,
            direction=way,
            source_key=source,
            target_key=target,
            at=datetime.fromisoformat(at),
            values=values,
            find=FindAgain.from_json(find[0]) if find else None,
        )
        for source, target, at, values, *find in json.loads(pairs)
    ]
