"""Database errors as coupler sees them: retryable (lost connection, locked, deadlock) or a readable message for
the one row a constraint rejected."""

from __future__ import annotations

import re

from sqlalchemy.exc import DBAPIError, OperationalError, StatementError

__all__ = ["is_retryable", "row_error"]

# SQLSTATEs worth retrying: connection exceptions (class 08), serialization failure, deadlock, lock not available,
# server shutting down or starting, too many connections.
_RETRYABLE_STATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300"})
_SQLITE_LOCKED = re.compile(r"database (table |schema )?is locked", re.IGNORECASE)
_SQLITE_NOT_NULL = re.compile(r"NOT NULL constraint failed: (?:\w+\.)?(?P<column>.+)")
_SQLITE_CHECK = re.compile(r"CHECK constraint failed: (?P<constraint>.+)")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<columns>.+)")


def is_retryable(exc: StatementError) -> bool:
    """Whether ``exc`` is a passing failure of the database (retry the whole call later), not the data's fault."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    state = _sqlstate(exc)
    if state and (state in _RETRYABLE_STATES or state.startswith("08")):
        return True
    return isinstance(exc, OperationalError) and bool(_SQLITE_LOCKED.search(str(exc.orig)))


def row_error(exc: StatementError, table: str) -> tuple[str, str]:
    """A readable message for the row ``exc`` rejected (naming the column or constraint when the driver says
    which), and the driver's own text."""
    orig = exc.orig
    detail = str(orig) if orig is not None else str(exc)
    if not isinstance(exc, DBAPIError):
        return f"{table}: invalid value: {_first_line(detail)}", detail
    diag = getattr(orig, "diag", None)
    state = _sqlstate(exc)
    column = getattr(diag, "column_name", None)
    constraint = getattr(diag, "constraint_name", None)
    first = _first_line(detail)
    if state == "23502" or (match := _SQLITE_NOT_NULL.search(first)):
        column = column or (match.group("column") if match else "?")
        return f"{table}: column {column!r} cannot be empty (NOT NULL constraint)", detail
    if state == "23514" or (match := _SQLITE_CHECK.search(first)):
        constraint = constraint or (match.group("constraint") if match else "?")
        return f"{table}: the check constraint {constraint!r} rejected the row", detail
    if state == "23505" or (match := _SQLITE_UNIQUE.search(first)):
        what = getattr(diag, "message_detail", None) or (match.group("columns") if match else constraint)
        return f"{table}: duplicate value for a unique constraint ({what})", detail
    if state == "23503" or "FOREIGN KEY constraint failed" in first:
        what = getattr(diag, "message_detail", None) or constraint or "a referenced record does not exist"
        return f"{table}: foreign key constraint failed ({what})", detail
    return f"{table}: {first}", detail


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state if isinstance(state, str) else None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
