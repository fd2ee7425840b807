"""coupler: couple records between an ERP and a CRM and keep them synchronized.

The Python API::

    import coupler

    with coupler.open_coupler("coupler.toml") as app:
        for report in app.sync_modified():
            print(report.job.mapping, report.job.counters.as_dict(), "ok" if report.ok else "failed")

``open_coupler`` returns a ``Coupler``; the other names are what its methods take, return and raise.

The names are imported when first used (PEP 562), so that ``import coupler`` and the command line's ``--help`` do
not load the whole stack (SQLAlchemy, pydantic, httpx) before anything needs it.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import TYPE_CHECKING, Any

logging.getLogger("coupler").addHandler(logging.NullHandler())  # a library logs nowhere until its user says where

if TYPE_CHECKING:
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

_ERRORS = "coupler.domain.errors"
_HOMES = {
    "open_coupler": "coupler.bootstrap",
    "AlreadyCoupled": _ERRORS,
    "ConfigurationError": _ERRORS,
    "ConnectorError": _ERRORS,
    "CouplerError": _ERRORS,
    "LockLost": _ERRORS,
    "MappingBusy": _ERRORS,
    "PermanentConnectorError": _ERRORS,
    "RecordError": _ERRORS,
    "RecordNotFound": _ERRORS,
    "RetryableConnectorError": _ERRORS,
    "UnknownMapping": _ERRORS,
    "UsageError": _ERRORS,
    "Job": "coupler.domain.jobs",
    "JobError": "coupler.domain.jobs",
    "Direction": "coupler.domain.mapping",
    "Side": "coupler.domain.mapping",
    "Conflict": "coupler.domain.state",
    "PendingDeletion": "coupler.domain.state",
    "Coupler": "coupler.services.api",
    "JobReport": "coupler.services.engine.recorder",
    "MappingRun": "coupler.services.engine.schedule",
    "Round": "coupler.services.engine.schedule",
    "SkippedRecord": "coupler.services.operations.attention",
    "LockStatus": "coupler.services.operations.locks",
    "CheckReport": "coupler.services.views.check",
    "MappingOverview": "coupler.services.views.queries",
    "RecordStatus": "coupler.services.views.queries",
}
"""Where each public name is defined."""


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'coupler' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # the next lookup finds it without coming here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
