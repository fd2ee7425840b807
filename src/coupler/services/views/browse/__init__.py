"""The records list of a table mapping: local records with their coupling state, searched, filtered and paged.

Pages are keysets on the local key (``after``), never offsets, so page 1,000 of 100,000 records costs what page 1
costs. Two ways to fill a page:

- driven by the local system (filter ``all`` or ``uncoupled``, or any search): with ``all``, one query for the page's
  ``limit + 1`` local records (the mapping's filter, the search, ``key > after``, ordered by key), then their
  couplings in one store query. A state filter here (``uncoupled``, or a search with any other filter) reads only
  keys, a batch at a time, keeps those whose coupling state passes, and stops at ``limit + 1`` kept or at
  ``max_scan`` keys read (then ``next_after`` continues after the last key read); only the page's records are read
  with their fields;
- driven by the state store (``coupled``, ``failed``, ``skipped``, ``conflict`` without a search): the store's
  keyset queries, then the local records for those keys in one read.

So a page reads at most ``limit + 1`` records of the local system with their fields, whatever the filter, and never
the whole table: memory per call does not grow with the table.

Search is a prefix of the display key or of the name (the mapping's first local field), whatever the letter case:
one ``Connector.search`` query per page (``lower(field) LIKE 'text%'`` on SQL), in key order after ``after``.

Sorted (any ``sort`` but ``key``, the web list's default being the display key), the list is paged both ways
(``after`` the next page's token, ``before`` the previous page's; see ``keysets``):

- by the display key or the name: ordered keyset reads of the local system (``Connector.ordered``), with the search;
  a coupling state filter (coupled, not coupled) keeps the rows of a bounded scan as above;
- by last synchronized or result: the state store's ordered keyset reads of the couplings (indexed), then the
  records not coupled, in key order; a search sorts by the display key instead (a search and a state order
  cannot be one query);
- by coupled to: coupled first (by key), then not coupled (the partner's name is in the other system: sorting by
  it would read every coupling's partner);
- the attention filters (failed, skipped, in conflict) and systems that cannot sort in a query stay in key order.
"""

from __future__ import annotations

from coupler.services.views.browse.page import browse, matching_keys
from coupler.services.views.browse.rows import MAX_LIMIT, MAX_SCAN, BrowsePage, BrowseRow, RecordFilter, Sort

__all__ = ["MAX_LIMIT", "MAX_SCAN", "BrowsePage", "BrowseRow", "RecordFilter", "Sort", "browse", "matching_keys"]
