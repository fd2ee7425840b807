"""The web app's query object: the read models behind its pages and dialogs, over the same systems as the Coupler.

The Python API (``coupler.Coupler``) keeps what a script needs; what only a page shows (a page of records, the record
card, the Synchronize now dialog, the Set up coupling lookup, records' names, the review) is read here.
"""

from __future__ import annotations

from collections.abc import Sequence

from coupler.domain.mapping import Side
from coupler.services.context import Systems
from coupler.services.views.browse import BrowsePage, RecordFilter, Sort, browse, matching_keys
from coupler.services.views.card import RecordCard, record_card
from coupler.services.views.factbox import FactBox, factbox
from coupler.services.views.integration_search import IntegrationMatch, search_integration
from coupler.services.views.record_names import record_names, record_refs
from coupler.services.views.review import Recommendation, recommend, review
from coupler.services.views.sync_options import SyncOptions, sync_options, sync_options_unread

__all__ = ["PageQueries"]


class PageQueries:
    """Reads for the pages; it writes nothing, so one instance serves every request."""

    def __init__(self, systems: Systems) -> None:
        self.systems = systems

    def browse(
        self,
        mapping: str,
        *,
        search: str | None = None,
        filter: RecordFilter = RecordFilter.ALL,
        after: str | None = None,
        limit: int = 50,
        sort: Sort = Sort.KEY,
        descending: bool = False,
        before: str | None = None,
    ) -> BrowsePage:
        """A page of a mapping's local records with their coupling state; ``after`` is the previous page's
        ``next_after``, ``before`` (sorted lists) the next page's ``prev_before`` (keyset paging)."""
        return browse(
            self.systems,
            mapping,
            search=search,
            filter=filter,
            after=after,
            limit=limit,
            sort=sort,
            descending=descending,
            before=before,
        )

    def matching_keys(
        self, mapping: str, *, search: str | None, filter: RecordFilter, coupled: bool | None = None
    ) -> list[str]:
        """The local keys of every record matching a search and filter ("Select all N matching")."""
        return matching_keys(self.systems, mapping, search=search, filter=filter, coupled=coupled)

    def card(self, mapping: str, ref: str) -> RecordCard:
        """The record card: both records side by side per field mapping, with direction and differences."""
        return record_card(self.systems, mapping, ref)

    def factbox(self, card: RecordCard) -> FactBox:
        """The card's panel about the integration system: coupled to, last synchronization per direction, status."""
        return factbox(self.systems, card)

    def sync_options(self, mapping: str, refs: Sequence[str]) -> SyncOptions:
        """What the Synchronize now dialog offers for these records: directions, default, warnings, merge."""
        return sync_options(self.systems, mapping, refs)

    def search_integration(
        self, mapping: str, query: str, *, limit: int = 10, hide_coupled: bool = False
    ) -> list[IntegrationMatch]:
        """Integration records for the Set up coupling lookup (within the filter; exact or prefix on the name;
        without the coupled ones if ``hide_coupled``)."""
        return search_integration(self.systems, mapping, query, limit=limit, hide_coupled=hide_coupled)

    def sync_options_unread(self, mapping: str, records: int) -> SyncOptions:
        """The Synchronize now dialog for every record matching a search and filter (not compared one by one)."""
        return sync_options_unread(self.systems, mapping, records)

    def names(self, mapping: str, side: Side, keys: Sequence[str]) -> dict[str, str]:
        """How a user knows these records of ``side``: key -> display key (or the key itself)."""
        return record_names(self.systems, mapping, side, keys)

    def refs(self, mapping: str, side: Side, keys: Sequence[str]) -> dict[str, str]:
        """What names these records of ``side`` in a page's address: key -> display key (or the key itself)."""
        return record_refs(self.systems, mapping, side, keys)

    def review(self, mapping: str | None = None) -> list[Recommendation]:
        """What to run first per mapping (full synchronization, match-based coupling or nothing)."""
        if mapping is not None:
            return [recommend(self.systems, mapping)]
        return review(self.systems)
