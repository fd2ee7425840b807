"""Paging a sorted list both ways on keysets: a list is one or more segments read one after the other (the coupled
records from the state store, then the uncoupled ones from the local system, say), each an ordered keyset read.

A page is found by walking the segments forward after a mark (Next) or backward before it (Previous), reading at
most what the page needs from each: never an offset, so page 1,000 costs what page 1 costs. A mark names a row
(its segment, sort value and key); the page links carry it as an opaque token.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from coupler.domain.errors import UsageError
from coupler.domain.ordering import Bookmark

__all__ = ["Mark", "Segment", "decode", "encode", "walk"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True, kw_only=True, slots=True)
class Mark:
    segment: int
    value: Any
    key: str

    @property
    def bookmark(self) -> Bookmark:
        return Bookmark(value=self.value, key=self.key)


class Segment(Protocol, Generic[T_co]):
    def fetch(
        self, after: Bookmark | None, *, forward: bool, want: int
    ) -> tuple[Sequence[tuple[Bookmark, T_co]], Bookmark | None]:
        """Up to ``want`` rows after ``after`` in the list's order (``forward``) or before it in reverse order
        (from the end when None), with their bookmarks, in the order walked; and where to resume when the segment
        stopped before it was done or had found ``want`` (a bounded scan), else None."""
        ...


def walk(
    segments: Sequence[Segment[T]], start: Mark | None, *, forward: bool, want: int
) -> tuple[list[tuple[Mark, T]], Mark | None]:
    """Up to ``want`` rows after ``start`` (``forward``) or before it, in the order walked; and the mark to resume
    from when a segment's scan stopped early (the page then holds fewer rows)."""
    index = start.segment if start is not None else (0 if forward else len(segments) - 1)
    bookmark = start.bookmark if start is not None else None
    items: list[tuple[Mark, T]] = []
    while 0 <= index < len(segments) and len(items) < want:
        found, resume = segments[index].fetch(bookmark, forward=forward, want=want - len(items))
        items.extend((Mark(segment=index, value=b.value, key=b.key), row) for b, row in found)
        if resume is not None and len(items) < want:
            return items, Mark(segment=index, value=resume.value, key=resume.key)
        index += 1 if forward else -1
        bookmark = None
    return items, None


def encode(mark: Mark) -> str:
    value = mark.value
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    elif value is not None and not isinstance(value, (str, int, float, bool)):
        value = str(value)
    raw = json.dumps([mark.segment, value, mark.key], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(token: str) -> Mark:
    """The mark of a page link; UsageError when the token is not one (edited by hand)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        segment, value, key = json.loads(raw)
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["t"])
        if not isinstance(segment, int) or not isinstance(key, str):
            raise ValueError(token)
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise UsageError("This page link is not valid any more: start again from the first page.") from None
    return Mark(segment=segment, value=value, key=key)
