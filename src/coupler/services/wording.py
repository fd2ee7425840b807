"""Counts in words, for every message coupler writes for people: "1 conflict", "2 conflicts", "1,250 records"."""

from __future__ import annotations

__all__ = ["AWAITS_APPROVAL", "plural"]


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``count`` with thousands separators and ``noun``, or its plural when the count is not one: ``many`` when
    given (``plural(2, "entry", "entries")``), else the noun with an s. The noun may be a phrase whose last word
    takes the s (``plural(3, "coupled record")``)."""
    return f"{count:,} {noun if count == 1 else (many or noun + 's')}"


AWAITS_APPROVAL = "waits for your approval"
"""How a message says a deletion waits to be approved (each interface adds where to approve it)."""
