"""One exception tree for coupler. Each class's docstring is its default message."""

from __future__ import annotations

__all__ = [
    "AlreadyCoupled",
    "ConfigurationError",
    "ConnectorError",
    "CouplerError",
    "LockLost",
    "MappingBusy",
    "NoMatchFields",
    "NotCoupled",
    "PermanentConnectorError",
    "RecordError",
    "RecordNotFound",
    "RetryableConnectorError",
    "RunStopped",
    "UnknownJob",
    "UnknownMapping",
    "UsageError",
    "WouldDuplicate",
]


class CouplerError(Exception):
    """coupler failed."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (self.__doc__ or "").strip()
        super().__init__(self.message)


class ConfigurationError(CouplerError):
    """The configuration is not valid."""

    def __init__(self, message: str | None = None, *, problems: list[str] | None = None) -> None:
        self.problems = problems or [message or "The configuration is not valid."]
        super().__init__(message or "\n".join(self.problems))


class UsageError(CouplerError):
    """The request cannot be carried out as given."""


class ConnectionDisabled(UsageError):
    """The connection is switched off (``enabled = false``): no job runs until it is switched on again."""


class NoMatchFields(UsageError):
    """Match-based coupling has no fields to match on: none of the mapping's field mappings has a match priority."""

    def __init__(self, message: str | None = None, *, example: str | None = None) -> None:
        self.example = example
        """A field the records could be matched on (the CLI shows it with ``--on``)."""
        super().__init__(message)


class WouldDuplicate(UsageError):
    """A first full synchronization would duplicate the records both systems already hold: couple them first."""

    def __init__(self, message: str | None = None, *, command: str | None = None) -> None:
        self.command = command
        """The command that couples them first (the CLI names it)."""
        super().__init__(message)


class UnknownMapping(ConfigurationError):
    """No table mapping has that name."""


class ConnectorError(CouplerError):
    """A connected system failed."""


class RetryableConnectorError(ConnectorError):
    """A connected system failed for a passing reason (throttled, unavailable, timed out); try again later."""


class PermanentConnectorError(ConnectorError):
    """A connected system refused the request; retrying will not help."""


class RunStopped(CouplerError):
    """A stop was requested: the page in hand was finished; the next run continues."""


class MappingBusy(CouplerError):
    """Another run is synchronizing this mapping."""

    def __init__(self, message: str | None = None, *, mapping: str | None = None) -> None:
        self.mapping = mapping
        """The mapping whose lock is held, when known (the CLI tells how to release the lock of a run gone)."""
        super().__init__(message)


class LockLost(CouplerError):
    """This run no longer holds its mapping's lock (another run took it): it stopped before writing anything more."""


class RecordError(CouplerError):
    """A record could not be processed."""


class RecordNotFound(RecordError):
    """The record does not exist."""


class UnknownJob(RecordNotFound):
    """No job has that id."""


class AlreadyCoupled(RecordError):
    """The record is already coupled."""


class NotCoupled(RecordError):
    """The record is not coupled."""
