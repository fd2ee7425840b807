"""The metadata cache port: what a connector learnt about its system's schema, kept between processes.

A connector over a service asks it for table definitions, ``$metadata``, its own user and the like. Those answers
change rarely, so a connector asks each question once per connection and keeps the answer's text under a key it
chooses (the request's path and parameters). ``forget`` drops everything: a connector calls it when an answer
shows that what it kept is stale, and `coupler check` calls it to read everything afresh.

A connector that keeps such answers is ``KeepsMetadata``: the composition root gives it a cache kept in the state
store (per connection), and ``coupler check`` calls its ``refresh_metadata`` before checking.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["InProcessMetadata", "KeepsMetadata", "MetadataCache"]


class MetadataCache(Protocol):
    def get(self, key: str) -> str | None:
        """The text kept under ``key``, or None."""

    def put(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key``, replacing what was there."""

    def forget(self) -> None:
        """Drop everything kept for this connection."""


class InProcessMetadata:
    """A cache that lives as long as the connector (the default: every process asks again)."""

    def __init__(self) -> None:
        self._kept: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self._kept.get(key)

    def put(self, key: str, value: str) -> None:
        self._kept[key] = value

    def forget(self) -> None:
        self._kept.clear()


@runtime_checkable
class KeepsMetadata(Protocol):
    """A connector that keeps what it learns about its system's schema in ``metadata``."""

    metadata: MetadataCache

    def refresh_metadata(self) -> None:
        """Forget what was learnt (here and in ``metadata``): the next question asks the system again."""
