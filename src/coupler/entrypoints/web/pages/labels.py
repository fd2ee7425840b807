"""Names of the values a page shows: a lookup's key by the other record's name ("the user coupled to salesperson
JO" -> "Jim Olive"), read in one batch per lookup and side."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from coupler.domain.errors import CouplerError
from coupler.domain.mapping import Side, TableMapping
from coupler.domain.records import Record
from coupler.entrypoints.web.formatting import Labels
from coupler.services.views.page_queries import PageQueries

__all__ = ["lookup_labels"]


def lookup_labels(
    queries: PageQueries, mapping: TableMapping, records: Mapping[Side, Iterable[Record | None]]
) -> Labels:
    """For each lookup of ``mapping`` whose value on a side is the referenced record's key: key -> that record's
    name, for the values these ``records`` hold. A lookup by another column (a salesperson's code) is readable as it
    is; a mapping that cannot be read leaves its keys unnamed."""
    labels: dict[tuple[str, Side], dict[str, str]] = {}
    read = {side: [r for r in found if r is not None] for side, found in records.items()}
    for field in mapping.fields:
        if field.lookup is None or not field.enabled:
            continue
        try:
            referenced = queries.systems.mapping(field.lookup.mapping)
        except CouplerError:
            continue
        for side, found in read.items():
            name, by = field.field(side), field.lookup.by(side)
            if not name or (by is not None and by != referenced.spec(side).key):
                continue
            keys = sorted({str(r.get(name)) for r in found if r.get(name) not in (None, "")})
            if not keys:
                continue
            try:
                named = queries.names(referenced.name, side, keys)
            except CouplerError:
                continue
            labels.setdefault((field.pair, side), {}).update({k: v for k, v in named.items() if v != k})
    return labels
