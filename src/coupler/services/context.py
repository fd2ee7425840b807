"""What every service works with: both systems, the state store, the mappings and the run settings."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from coupler.domain.errors import ConnectionDisabled, UnknownMapping
from coupler.domain.mapping import Side, TableMapping
from coupler.domain.timeutil import utcnow
from coupler.ports.connector import Connector
from coupler.ports.store import StateStore
from coupler.ports.telemetry import Telemetry
from coupler.services.lease import LOCK_TTL, guarded

__all__ = ["Progress", "Systems"]


class Progress:
    """Progress of long work; the CLI shows it as a bar. The default does nothing."""

    def start(self, label: str, total: int | None = None, *, unit: str = "records") -> None:
        """A new stretch of work begins: ``total`` units to do when known (records, unless ``unit`` says)."""

    def advance(self, count: int) -> None:
        """``count`` more records are done."""


@dataclass(kw_only=True)
class Systems:
    local: Connector
    integration: Connector
    store: StateStore
    mappings: Sequence[TableMapping]
    batch_size: int = 1000
    overlap_ms: int = 1000
    clock: Callable[[], datetime] = utcnow
    progress: Progress = field(default_factory=Progress)
    stop: threading.Event | None = None
    """Set to stop cleanly: the synchronizer finishes the page in hand, then closes the job as stopped."""
    lock_ttl: timedelta = LOCK_TTL
    """How long a job's lock on its mapping lasts unrenewed (its heartbeat renews it every fifth of that)."""
    enabled: Callable[[], bool] = field(default=lambda: True)
    """Whether the connection is switched on, asked as each job starts (the composition root reads the configuration
    file again, so that a long-running process sees a switch made elsewhere)."""
    telemetry: Telemetry = field(default_factory=Telemetry)
    """Told of every job's start, progress and end (metrics); the default tells no one."""
    connection: str | None = None
    """What names this connection in logs (the configuration file)."""

    def require_enabled(self) -> None:
        """A ConnectionDisabled naming both systems when the connection is switched off."""
        if not self.enabled():
            raise ConnectionDisabled(
                f"The connection between {self.local.display_name} and {self.integration.display_name} is disabled: "
                "nothing is synchronized or coupled until it is enabled again."
            )

    def connector(self, side: Side) -> Connector:
        """The ``side`` system; inside a job, its writes first check that the job still holds its lock."""
        return guarded(self.local if side is Side.LOCAL else self.integration)

    def name(self, side: Side) -> str:
        """The ``side`` system as the configuration names it ("Business Central", "Dynamics 365 Sales")."""
        return (self.local if side is Side.LOCAL else self.integration).display_name

    @property
    def either(self) -> str:
        """Both systems by name, as in "no record in Business Central or Dynamics 365 Sales"."""
        return f"{self.local.display_name} or {self.integration.display_name}"

    def lengths(self, side: Side, table: str) -> dict[str, int]:
        """The maximum lengths of ``table``'s text columns on ``side`` (for truncating values to fit)."""
        columns = self.connector(side).describe(table) or {}
        return {name: column.max_length for name, column in columns.items() if column.max_length}

    def mapping(self, name: str) -> TableMapping:
        for mapping in self.mappings:
            if mapping.name == name.upper():
                return mapping
        known = ", ".join(m.name for m in self.mappings)
        raise UnknownMapping(f"No table mapping is named {name!r}. The mappings are: {known}.")

    def in_dependency_order(self, names: Sequence[str] | None = None) -> list[TableMapping]:
        """Mappings ordered so that each comes after those it depends on (the config rejects cycles)."""
        by_name = {m.name: m for m in self.mappings}
        wanted = [self.mapping(n).name for n in names] if names else list(by_name)
        ordered: list[TableMapping] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen:
                return
            seen.add(name)
            for dependency in by_name[name].depends_on:
                if dependency in by_name and dependency in wanted:
                    visit(dependency)
            ordered.append(by_name[name])

        for name in wanted:
            visit(name)
        return ordered
