"""Records as coupler sees them: a key, a modified-on timestamp, a version (ETag) and field values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Record", "RecordUpdate", "WriteResult"]


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
