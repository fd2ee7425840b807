"""A page of the records list, in key order or sorted (see the package's docstring), and every key a search and
filter match ("Select all N matching")."""

from __future__ import annotations

from coupler.domain.errors import UsageError
from coupler.domain.mapping import Side
from coupler.services.context import Systems
from coupler.services.views.browse.keyed import _from_local, _from_store
from coupler.services.views.browse.ordered import _sorted
from coupler.services.views.browse.rows import MAX_LIMIT, MAX_SCAN, BrowsePage, RecordFilter, Sort, _local_total

__all__ = ["browse", "matching_keys"]


def browse(
    systems: Systems,
    name: str,
    *,
    search: str | None = None,
    filter: RecordFilter = RecordFilter.ALL,
    after: str | None = None,
    limit: int = 50,
    max_scan: int = MAX_SCAN,
    sort: Sort = Sort.KEY,
    descending: bool = False,
    before: str | None = None,
) -> BrowsePage:
    """A page of ``name``'s local records with their coupling state (see the module's docstring); ``max_scan``
    bounds the keys one call reads while looking for records in a coupling state. Sorted by other than the key,
    ``after`` and ``before`` are the tokens of the page links."""
    if not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}.")
    if max_scan < 1:
        raise UsageError(f"max_scan must be at least 1, not {max_scan}.")
    mapping = systems.mapping(name)
    search = (search or "").strip() or None
    stats = systems.store.stats(mapping.name)
    if sort is not Sort.KEY and filter in (RecordFilter.ALL, RecordFilter.COUPLED, RecordFilter.UNCOUPLED):
        page = _sorted(systems, mapping, sort, descending, filter, search, after, before, limit, max_scan, stats)
        if page is not None:
            return page
        after = before = None  # the system cannot sort: key order, from the first page
    if before is not None:
        after = None
    counted_at = None
    if search is None and filter not in (RecordFilter.ALL, RecordFilter.UNCOUPLED):
        rows, next_after = _from_store(systems, mapping, filter, after, limit)
        total = {
            RecordFilter.COUPLED: stats.couplings,
            RecordFilter.SKIPPED: stats.skipped,
            RecordFilter.CONFLICT: stats.conflicts,
        }.get(filter)
    else:
        rows, next_after = _from_local(systems, mapping, filter, search, after, limit, max_scan)
        total, counted_at = _local_total(systems, mapping, filter, search, stats)
    return BrowsePage(
        mapping=mapping.name,
        filter=filter,
        search=search,
        rows=tuple(rows),
        next_after=next_after,
        total=total,
        counted_at=counted_at,
        stats=stats,
        fields=mapping.columns(Side.LOCAL),
    )


def matching_keys(
    systems: Systems,
    name: str,
    *,
    search: str | None = None,
    filter: RecordFilter = RecordFilter.ALL,
    coupled: bool | None = None,
) -> list[str]:
    """The local keys of every record the list shows for this search and filter ("Select all N matching"), only
    the coupled (``coupled``) or not coupled ones when asked: page after page in key order, for an action run in
    the background on what the filter matches rather than on keys sent by the browser."""
    narrowed = {True: RecordFilter.COUPLED, False: RecordFilter.UNCOUPLED}.get(coupled) if coupled is not None else None
    if narrowed is not None and filter is RecordFilter.ALL:
        filter = narrowed
    elif narrowed is not None and filter is RecordFilter.UNCOUPLED and coupled:
        return []
    keys: list[str] = []
    after: str | None = None
    while True:
        page = browse(systems, name, search=search, filter=filter, after=after, limit=MAX_LIMIT)
        keys += [row.key for row in page.rows if coupled is None or row.coupled is coupled]
        if page.next_after is None:
            return keys
        after = page.next_after
