"""The metadata port: what a connector learnt about its system's schema (table definitions, ``$metadata``, its own
user, the company), kept per connection between processes so that each process need not ask again.

A connection is named by a key the composition root builds from the system's settings (kind, URL, company, the
signed-in client: never a secret). Each entry is a text under the connector's own key, with the time it was learnt.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

__all__ = ["KnownEntry", "Metadata"]


@dataclass(frozen=True, kw_only=True, slots=True)
class KnownEntry:
    """One answer kept for a connection: the connector's ``key``, its text, and when it was learnt (UTC)."""

    key: str
    value: str
    learnt_at: datetime


class Metadata(ABC):
    @abstractmethod
    def entries(self, connection: str) -> list[KnownEntry]:
        """Everything kept for ``connection``, ordered by key (one query: a connector loads it all at once)."""

    @abstractmethod
    def put(self, connection: str, key: str, value: str, *, at: datetime) -> None:
        """Keep ``value`` under ``key`` for ``connection``, learnt ``at``, replacing what was there."""

    @abstractmethod
    def forget(self, connection: str) -> None:
        """Drop everything kept for ``connection`` (other connections keep theirs)."""
