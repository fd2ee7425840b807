"""Batch writes that isolate bad rows: each batch runs in its own transaction, and a batch the database rejects
is rolled back and split in halves until every good row has landed and each bad row stands alone with its error.
A writer that cannot tell which rows of a batch it wrote (a conditional update that matched fewer rows than it
was given) asks for the batch again one row at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import StatementError

from coupler.adapters.connectors.sql.errors import is_retryable, row_error

__all__ = ["Failures", "RowByRow", "Writer", "chunks", "write_isolating"]

T = TypeVar("T")
# One write attempt: (position in the call, item) pairs in; the native keys of the written rows and the errors of
# rows refused without a database error (e.g. a record that does not exist) out.
Writer = Callable[[Connection, list[tuple[int, T]]], tuple[dict[int, Any], dict[int, str]]]
Failures = dict[int, tuple[str, str | None]]  # position -> (readable error, driver text)


class RowByRow(Exception):  # a request to the loop below, not an error
    """Raised by a writer inside a batch's transaction: roll the batch back and write it again row by row."""


def write_isolating(
    conn: Connection, table: str, batches: Iterable[list[tuple[int, T]]], write: Writer[T]
) -> tuple[dict[int, Any], Failures]:
    """Run ``write`` on each batch, bisecting failing ones. Raises the database error when it is retryable (lost
    connection, locked): the whole call should then be retried."""
    written: dict[int, Any] = {}
    failed: Failures = {}
    pending = [batch for batch in reversed(list(batches)) if batch]
    while pending:
        batch = pending.pop()
        try:
            with conn.begin():
                done, refused = write(conn, batch)
        except RowByRow:
            if len(batch) == 1:
                raise
            pending += [[item] for item in reversed(batch)]  # in input order
            continue
        except StatementError as exc:
            if is_retryable(exc):
                raise
            if len(batch) == 1:
                failed[batch[0][0]] = row_error(exc, table)
            else:
                middle = len(batch) // 2
                pending += [batch[middle:], batch[:middle]]  # the first half runs first: input order is kept
            continue
        written.update(done)
        failed.update((index, (message, None)) for index, message in refused.items())
    return written, failed


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
