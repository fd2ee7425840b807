"""Records as coupler sees them: a key, a modified-on timestamp, a version (ETag) and field values; and the change
cursor, the position in a system's (modified-on, key) order that reading its changes resumes after."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["ChangeCursor", "Record", "RecordUpdate", "WriteResult"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Record:
    """``modified_by_self``: the system says coupler's own user made the record's last change (Dataverse's
    ``modifiedby``); connectors that cannot tell leave it False."""

    key: str
    modified_on: datetime | None
    values: Mapping[str, Any]
    version: str | None = None
    modified_by_self: bool = False

    def get(self, name: str) -> Any:
        return self.values.get(name)


@dataclass(frozen=True, kw_only=True, slots=True)
class ChangeCursor:
    """Where reading a system's changes resumes (a mapping side's watermark), as a keyset position in the order
    changes are read, by modified-on then key: every record stamped before ``stamp`` has been seen, and so has every
    record stamped exactly ``stamp`` whose key is ``key`` or before it in the system's own key order. ``key`` None:
    every record stamped ``stamp`` has been seen.

    The key matters when a page ends among records that share one modified-on (one multi-row UPDATE stamps them
    alike): the next read starts with the rest of them instead of skipping past the stamp."""

    stamp: datetime
    key: str | None = None

    @classmethod
    def after(cls, record: Record, *, settled: datetime) -> ChangeCursor | None:
        """The cursor once ``record``, and every record before it in the read, is handled: its own position, but
        never past ``settled`` (changes stamped later may still be committing: they are read again next time).
        None when the record has no modified-on (never stamped: a full read lists those first)."""
        if record.modified_on is None:
            return None
        if record.modified_on > settled:
            return cls(stamp=settled)
        return cls(stamp=record.modified_on, key=record.key)


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordUpdate:
    """Changed values for one existing record. ``version`` (an ETag) makes the write conditional where supported."""

    key: str
    values: Mapping[str, Any]
    version: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class WriteResult:
    """The outcome of one record's write: its key and new modified-on, or the error that rejected it.

    ``index`` is the position of the record in the batch given to the connector.
    """

    index: int
    key: str | None = None
    modified_on: datetime | None = None
    version: str | None = None
    error: str | None = None
    detail: str | None = None
    retryable: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None
