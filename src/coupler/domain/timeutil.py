"""Timestamps inside coupler are always timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["format_iso", "parse_timestamp", "to_utc", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """A naive datetime is taken to be UTC (databases store UTC without an offset); an aware one is converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_timestamp(value: object) -> datetime | None:
    """Read a modified-on value as stored by a system: a datetime, or ISO 8601 text (``Z`` or an offset)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return to_utc(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "T", 1)
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        return to_utc(datetime.fromisoformat(text))
    raise TypeError(f"not a timestamp: {value!r}")


def format_iso(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a ``Z``, the form Business Central and Dataverse use."""
    utc = to_utc(value)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
