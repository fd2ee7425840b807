"""What every log line of a job carries: the job id, its mapping and the connection (the configuration it runs
for), held in a context variable so that any logger on the job's thread (a connector's, the store's) tags its lines
without being handed the job. The log formatter (``adapters/logs.py``) reads it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar, Token
from types import MappingProxyType

__all__ = ["LogContext", "bind", "bound", "clear", "log_context", "unbind"]

LogContext = Mapping[str, str]

_CONTEXT: ContextVar[LogContext] = ContextVar("coupler_log_context", default=MappingProxyType({}))


def log_context() -> LogContext:
    """The fields bound in this context (job, mapping, connection...), possibly none."""
    return _CONTEXT.get()


def bind(**fields: str | None) -> Token[LogContext]:
    """Add ``fields`` (None ones left out) to this context's log fields until ``unbind`` with the token returned."""
    return _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in fields.items() if v is not None}})


def clear() -> None:
    """Forget every field in this context (what a job left bound when it never finished)."""
    _CONTEXT.set(MappingProxyType({}))


def unbind(token: Token[LogContext]) -> None:
    """Restore the fields as they were before ``bind`` (nothing if the token belongs to another context)."""
    with contextlib.suppress(ValueError, RuntimeError):
        _CONTEXT.reset(token)


@contextlib.contextmanager
def bound(**fields: str | None) -> Iterator[None]:
    """``fields`` in the log lines of the block."""
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)
