"""What the in-memory aggregates share: removing rows from a dictionary kept as a table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

__all__ = ["remove"]

_K = TypeVar("_K")
_V = TypeVar("_V")


def remove(table: dict[_K, _V], keys: Iterable[_K]) -> int:
    """Remove the rows of these keys (each once; missing ones are no error); the number removed."""
    removed = 0
    for key in dict.fromkeys(keys):
        if table.pop(key, None) is not None:
            removed += 1
    return removed
