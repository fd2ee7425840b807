"""A run over HTTP stopped between two pages of changes loses nothing. Business Central and Dataverse page a change
read with ``@odata.nextLink`` and filter it on the modified-on; their GUID keys cannot be compared in the service's
own order, so the next run resumes with ``ge`` on the last page's stamp: it reads the records sharing that stamp
again (those already synchronized cost no write) and every record of a multi-row update arrives."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from coupler.domain.errors import RunStopped
from coupler.domain.mapping import Side
from coupler.domain.records import Record
from coupler.services.api import Coupler

from .support import HttpDemo, execute, query

EDITS = {  # the system whose users edit every city in one statement -> that statement
    Side.LOCAL: "UPDATE customers SET city = 'Tie'",
    Side.INTEGRATION: "UPDATE account SET address1_city = 'Tie'",
}


def _couple_customers(coupler: Coupler) -> None:
    coupler.match("SALESPEOPLE", sync_after=Side.INTEGRATION)
    coupler.match("CURRENCY", sync_after=Side.LOCAL)
    for name in ("CURRENCY", "SALESPEOPLE"):
        coupler.sync_full(name)
    coupler.match("CUSTOMER", sync_after=Side.LOCAL)
    coupler.sync_modified(["CUSTOMER"])  # the watermarks are where the changes above end


def _stop_after_first_page(coupler: Coupler, side: Side) -> None:
    """The run is asked to stop once ``side``'s change read has given its first page (so it stops after it)."""
    systems = coupler.systems
    systems.stop = threading.Event()
    connector = systems.connector(side)
    read = connector.changed_since

    def changed_since(*args: Any, **kwargs: Any) -> Iterator[list[Record]]:
        for page in read(*args, **kwargs):
            systems.stop.set()  # type: ignore[union-attr]
            yield page

    connector.changed_since = changed_since  # type: ignore[method-assign]


@pytest.mark.parametrize("edited", [Side.LOCAL, Side.INTEGRATION], ids=["business-central", "dataverse"])
def test_a_run_stopped_between_two_pages_leaves_no_record_of_a_multi_row_update_behind(
    http_demo: HttpDemo, edited: Side
) -> None:
    with http_demo.config.open("a", encoding="utf-8") as config:
        config.write("\n[sync]\nbatch_size = 5\n")
    with http_demo.open() as coupler:
        _couple_customers(coupler)
    state = http_demo.directory / "coupler-state.db"
    pairs = query(state, "SELECT * FROM coupler_couplings WHERE mapping = 'CUSTOMER'")
    assert len(pairs) > 10
    database = http_demo.erp if edited is Side.LOCAL else http_demo.crm
    assert execute(database, EDITS[edited]) > 10  # one statement: one modified-on for every record
    time.sleep(1.2)  # the runs start past the overlap window: the watermark may reach the shared stamp

    with http_demo.open() as stopped:
        _stop_after_first_page(stopped, edited)
        with pytest.raises(RunStopped):
            stopped.sync_modified(["CUSTOMER"])
        first = stopped.jobs(limit=1, mapping="CUSTOMER")[0].counters.modified
    assert 0 < first < len(pairs), "stopped between two pages"

    with http_demo.open() as resumed:
        [report] = resumed.sync_modified(["CUSTOMER"])
    assert report.job.counters.modified == len(pairs) - first, "the records the first page did not reach, only"
    if edited is Side.LOCAL:
        keys = ", ".join(f"'{pair['integration_key']}'" for pair in pairs)
        cities = query(http_demo.crm, f"SELECT address1_city AS city FROM account WHERE accountid IN ({keys})")
    else:
        keys = ", ".join(f"'{pair['local_key']}'" for pair in pairs)
        cities = query(http_demo.erp, f"SELECT city FROM customers WHERE id IN ({keys})")
    assert len(cities) == len(pairs) and {row["city"] for row in cities} == {"Tie"}
