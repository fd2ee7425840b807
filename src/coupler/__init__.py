"""coupler: couple records between an ERP and a CRM and keep them synchronized.

The Python API::

    import coupler

    with coupler.open_coupler("coupler.toml") as app:
        for report in app.sync_modified():
            print(report.job.mapping, report.job.counters.as_dict(), "ok" if report.ok else "failed")

``open_coupler`` returns a ``Coupler``; the other names are what its methods take, return and raise.
"""

from __future__ import annotations

from coupler.bootstrap import open_coupler
from coupler.domain.errors import (
    AlreadyCoupled,
    ConfigurationError,
    ConnectorError,
    CouplerError,
    LockLost,
    MappingBusy,
    PermanentConnectorError,
    RecordError,
    RecordNotFound,
    RetryableConnectorError,
    UnknownMapping,
    UsageError,
)
from coupler.domain.jobs import Job, JobError
from coupler.domain.mapping import Direction, Side
from coupler.domain.state import Conflict, PendingDeletion
from coupler.services.api import Coupler
from coupler.services.engine.recorder import JobReport
from coupler.services.engine.schedule import MappingRun, Round
from coupler.services.operations.attention import SkippedRecord
from coupler.services.operations.locks import LockStatus
from coupler.services.views.check import CheckReport
from coupler.services.views.queries import MappingOverview, RecordStatus

__all__ = [
    "AlreadyCoupled",
    "CheckReport",
    "ConfigurationError",
    "Conflict",
    "ConnectorError",
    "Coupler",
    "CouplerError",
    "Direction",
    "Job",
    "JobError",
    "JobReport",
    "LockLost",
    "LockStatus",
    "MappingBusy",
    "MappingOverview",
    "MappingRun",
    "PendingDeletion",
    "PermanentConnectorError",
    "RecordError",
    "RecordNotFound",
    "RecordStatus",
    "RetryableConnectorError",
    "Round",
    "Side",
    "SkippedRecord",
    "UnknownMapping",
    "UsageError",
    "__version__",
    "open_coupler",
]

__version__ = "0.1.0"
