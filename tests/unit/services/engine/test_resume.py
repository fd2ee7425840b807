"""A run that stops between two pages (a clean stop, or a system failing half-way) resumes where it stopped: records
that share one modified-on with the page boundary among them (one multi-row UPDATE) are all read by the next run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from coupler.domain.errors import RetryableConnectorError, RunStopped
from coupler.domain.mapping import Side
from coupler.domain.records import Record
from coupler.domain.timeutil import utcnow
from unit.services.conftest import World


def _tied_edit(world: World, count: int) -> list[str]:
    """``count`` coupled customers, then one statement that changes every phone number (one modified-on for all),
    read by a run that starts well after it (past the overlap window)."""
    keys = [world.customer(f"C{n:03d}") for n in range(count)]
    assert world.coupler.sync_full("CUSTOMER").ok
    stamp = utcnow() + timedelta(seconds=5)
    for key in keys:
        world.erp.put("customers", {"id": key, "phoneNumber": "+45 70 10 20 30"})
    world.erp.set_modified_on("customers", keys, stamp)
    world.coupler.systems.clock = lambda: utcnow() + timedelta(seconds=10)
    return keys


def _phones(world: World, keys: list[str]) -> list[str]:
    couplings = world.store.couplings.find("CUSTOMER", Side.LOCAL, keys)
    return [world.account_row(couplings[key].integration_key)["telephone1"] for key in keys]


def test_a_run_stopped_after_its_first_page_leaves_the_rest_of_a_multi_row_update_to_the_next(world: World) -> None:
    keys = _tied_edit(world, 10)  # pages of 3: the boundary falls among records stamped alike
    world.coupler.systems.stop = threading.Event()
    world.coupler.systems.stop.set()  # checked after each page: the run stops after its first
    with pytest.raises(RunStopped):
        world.coupler.sync_modified()
    assert world.coupler.jobs(limit=1)[0].counters.modified == 3

    world.coupler.systems.stop.clear()
    [report] = world.coupler.sync_modified()
    assert report.ok and report.job.counters.modified == 7, "the seven records after the first page"
    assert _phones(world, keys) == ["+45 70 10 20 30"] * 10
    assert world.coupler.sync_modified()[0].job.counters.total == 0


def test_a_system_failing_between_two_pages_leaves_nothing_behind(world: World) -> None:
    keys = _tied_edit(world, 10)
    read = world.erp.changed_since

    def failing_after_a_page(*args: object, **kwargs: object) -> Iterator[list[Record]]:
        pages = read(*args, **kwargs)  # type: ignore[arg-type]
        yield next(pages)
        raise RetryableConnectorError("ERP is unavailable")  # an outage that used up the retries

    world.erp.changed_since = failing_after_a_page  # type: ignore[method-assign]
    with pytest.raises(RetryableConnectorError):
        world.coupler.sync_modified()
    world.erp.changed_since = read  # type: ignore[method-assign]

    [report] = world.coupler.sync_modified()
    assert report.ok and report.job.counters.modified == 7
    assert _phones(world, keys) == ["+45 70 10 20 30"] * 10
