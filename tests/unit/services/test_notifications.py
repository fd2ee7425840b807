"""The coalescer over a fake clock: a burst of notifications gathered per mapping for the window, handed over once,
too many changes (or the system naming none) as an incremental run, tables no mapping takes from that side left out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from coupler.domain.mapping import Direction, Side, TableSpec
from coupler.ports.webhooks import Change, Notified
from coupler.services.notifications import Coalescer, Targeted
from unit.services.conftest import customer_mapping

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def changed(*keys: str, table: str = "customers", change: Change = Change.UPDATED) -> list[Notified]:
    return [Notified(table=table, change=change, key=k) for k in keys]


def coalescer(clock: Clock, **options: object) -> Coalescer:
    contact = replace(
        customer_mapping(),
        name="CONTACT",
        local=TableSpec(table="contacts", key="id"),
        integration=TableSpec(table="contact", key="contactid"),
    )
    return Coalescer([customer_mapping(), contact], window=timedelta(seconds=1), clock=clock, **options)  # type: ignore[arg-type]


def test_a_burst_becomes_one_synchronization_per_mapping_after_the_window() -> None:
    clock = Clock()
    gather = coalescer(clock)
    assert gather.add(Side.LOCAL, changed("a", "b")) == 2
    clock.tick(0.5)
    gather.add(Side.LOCAL, changed("b", "c", change=Change.CREATED))
    gather.add(Side.LOCAL, changed("k1", table="contacts"))
    assert gather.due() == [] and gather.next_due() == START + timedelta(seconds=1)
    clock.tick(0.5)
    assert gather.due() == [
        Targeted(mapping="CUSTOMER", side=Side.LOCAL, keys=("a", "b", "c")),
    ]
    clock.tick(0.5)  # the contacts' window started half a second later
    assert gather.due() == [Targeted(mapping="CONTACT", side=Side.LOCAL, keys=("k1",))]
    assert gather.due() == [] and gather.next_due() is None


def test_a_collection_or_too_many_keys_is_an_incremental_run() -> None:
    clock = Clock()
    gather = coalescer(clock, max_keys=3)
    gather.add(Side.LOCAL, changed("a"))
    gather.add(Side.LOCAL, [Notified(table="customers", change=Change.MANY)])
    gather.add(Side.LOCAL, changed("b"))
    gather.add(Side.INTEGRATION, changed("1", "2", "3", "4", table="account"))
    clock.tick(1)
    assert gather.due() == [
        Targeted(mapping="CUSTOMER", side=Side.LOCAL, everything=True),
        Targeted(mapping="CUSTOMER", side=Side.INTEGRATION, everything=True),
    ]


def test_tables_no_mapping_takes_from_that_side_are_left_out() -> None:
    clock = Clock()
    one_way = Coalescer([customer_mapping(Direction.TO_INTEGRATION)], clock=clock)
    assert one_way.add(Side.INTEGRATION, changed("x", table="account")) == 0  # the CRM is only written to
    assert one_way.add(Side.LOCAL, changed("x", table="vendors")) == 0
    assert one_way.add(Side.LOCAL, changed("x", table="CUSTOMERS")) == 1  # table names compare case-insensitively
    clock.tick(5)
    assert one_way.due() == [Targeted(mapping="CUSTOMER", side=Side.LOCAL, keys=("x",))]
