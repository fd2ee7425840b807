"""What every service works with: both systems, the state store, the mappings and the run settings."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from coupler.domain.errors import ConnectionDisabled, UnknownMapping
from coupler.domain.mapping import Side, TableMapping, TableSpec
from coupler.domain.timeutil import utcnow
from coupler.ports.connector import Connector
from coupler.ports.store import StateStore
from coupler.ports.telemetry import Telemetry
from coupler.services.lease import LOCK_TTL, guarded
from coupler.services.table_counts import Counted, TableCounts

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
    counts: TableCounts = field(default_factory=TableCounts)
    """The counts of records that cost a scan, kept until coupler writes or a few minutes pass (``count``)."""

    def require_enabled(self) -> None:
        """A ConnectionDisabled naming both systems when the connection is switched off."""
        if not self.enabled():
            raise ConnectionDisabled(
                f"The connection between {self.local.display_name} and {self.integration.display_name} is disabled: "
                "nothing is synchronized or coupled until it is enabled again."
            )

    def count(
        self, side: Side, spec: TableSpec, *, search_fields: Sequence[str] = (), search: str | None = None
    ) -> Counted:
        """The records of ``spec`` on ``side`` (within its filter; starting with ``search`` in ``search_fields``),
        as the system counts them; a count that cost a scan is kept (with its time) until the next job starts or
        ends, or for a few minutes (see ``TableCounts``)."""
        connector = self.local if side is Side.LOCAL else self.integration
        key = (side, spec.table, repr(spec.filter), tuple(search_fields), search)
        newest = self.store.jobs.recent(limit=1)
        version = (newest[0].id, newest[0].finished_at) if newest else None
        if search is None:
            return self.counts.count(key, version, lambda: connector.count(spec))
        return self.counts.count(key, version, lambda: connector.search_count(spec, search_fields, search))

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
