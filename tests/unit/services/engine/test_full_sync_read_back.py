"""A full synchronization's second pass reads back the records its first pass created: it knows them (as written)
without looking their couplings up again, and still looks at one changed since it was created."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import pytest

from coupler.domain.coupling import Coupling
from coupler.domain.jobs import Job
from coupler.domain.mapping import Side
from unit.services.conftest import World


def _watch_lookups(world: World, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Side, str]]:
    asked: list[tuple[Side, str]] = []
    original = world.store.couplings.find

    def couplings(mapping: str, side: Side, keys: Sequence[str]) -> dict[str, Coupling]:
        asked.extend((Side(side), key) for key in keys)
        return original(mapping, side, keys)

    monkeypatch.setattr(world.store.couplings, "find", couplings)
    return asked


def test_records_the_first_pass_created_are_not_looked_up_again(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    for number in ("C001", "C002", "C003"):
        world.customer(number)
    asked = _watch_lookups(world, monkeypatch)

    report = world.coupler.sync_full("CUSTOMER")

    assert report.ok and report.job.counters.inserted == 3
    created = {c.integration_key for c in world.store.couplings.page("CUSTOMER")}
    assert not created & {key for side, key in asked if side is Side.INTEGRATION}
    assert world.coupler.sync_modified()[0].job.counters.total == 0, "and nothing is left to do"


def test_a_created_record_changed_before_the_second_pass_is_still_synchronized(world: World) -> None:
    world.customer("C001", phoneNumber="1")
    original_changed_since = world.crm.changed_since

    def changed_since(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for account in list(world.crm.rows("account")):  # a user edits the new account before it is read back
            world.crm.put("account", {"accountid": account["accountid"], "telephone1": "2"})
        yield from original_changed_since(*args, **kwargs)  # type: ignore[arg-type]

    world.crm.changed_since = changed_since  # type: ignore[method-assign]
    report = world.coupler.sync_full("CUSTOMER")

    assert report.ok and report.job.counters.inserted == 1 and report.job.counters.modified == 1
    [customer] = world.erp.rows("customers")
    assert customer["phoneNumber"] == "2", "the edit made after creation flows back in the same job"


def test_pages_that_change_nothing_save_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second pass's pages of records just created leave the state as it is: no save (no statement, no lock
    renewal) repeats the last one; the pages that change something save it with the job's counters as before."""
    for number in ("C001", "C002", "C003", "C004", "C005", "C006", "C007", "C008", "C009"):  # 3 pages of 3
        world.customer(number)
    saves: list[object] = []
    original = world.store.save

    def save(*args: object, **kwargs: object) -> None:
        saves.append(kwargs.get("job"))
        original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(world.store, "save", save)
    report = world.coupler.sync_full("CUSTOMER")

    assert report.ok and report.job.counters.inserted == 9
    states = [(job.counters.as_dict(), job.finished_at) for job in saves if isinstance(job, Job)]
    assert len(states) == len(saves) >= 4, "a save per page created, and the job's end"
    assert all(before != after for before, after in pairwise(states)), "no save repeats one"
