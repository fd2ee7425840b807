"""What a job keeps of the records it wrote, for the notice after an action (the first few, with their changed
fields by caption, old and new values), and a value too long for the target refused before it is sent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pytest

from coupler.adapters.connectors.memory.connector import InMemoryConnector
from coupler.domain.jobs import FieldChange
from coupler.domain.mapping import Direction, Side
from coupler.domain.transfer import Transfer, ValueTooLong
from coupler.ports.connector import ColumnInfo
from coupler.services.engine.recorder import WRITTEN_KEPT
from unit.services.conftest import World, customer_mapping, make_world


def _coupled(world: World, *numbers: str) -> list[str]:
    keys = [world.customer(n, displayName=f"Name {n}") for n in numbers]
    world.coupler.sync_full("CUSTOMER")
    return keys


def test_an_update_keeps_the_record_its_fields_by_caption_and_old_and_new_values(world: World) -> None:
    [key] = _coupled(world, "C001")
    world.erp.put("customers", {"id": key, "displayName": "Renamed", "phoneNumber": "42"})

    report = world.coupler.sync("CUSTOMER", ["C001"])

    [written] = report.written
    assert (written.side, written.title, written.ref, written.created) == (Side.INTEGRATION, "Renamed", "C001", False)
    assert set(written.changes) == {
        FieldChange(field="Name", old="Name C001", new="Renamed"),
        FieldChange(field="Phone No.", old="1", new="42"),
    }


def test_a_creation_keeps_the_new_record_with_its_values(world: World) -> None:
    world.customer("C001", displayName="Adatum")

    report = world.coupler.sync_full("CUSTOMER")

    [written] = report.written
    assert (written.side, written.title, written.ref, written.created) == (Side.INTEGRATION, "Adatum", "C001", True)
    assert FieldChange(field="Name", old=None, new="Adatum") in written.changes


def test_an_update_from_the_other_side_opens_the_local_records_card(world: World) -> None:
    [key] = _coupled(world, "C001")
    [coupling] = world.store.couplings.find("CUSTOMER", Side.LOCAL, [key]).values()
    world.crm.put("account", {"accountid": coupling.integration_key, "websiteurl": "https://adatum.example"})

    report = world.coupler.sync("CUSTOMER", ["C001"], direction=Direction.FROM_INTEGRATION)

    [written] = report.written
    assert (written.side, written.title, written.ref) == (Side.LOCAL, "C001", "C001")
    assert written.changes == (FieldChange(field="Website", old=None, new="https://adatum.example"),)


def test_only_the_first_records_written_are_kept(world: World) -> None:
    numbers = [f"C{n:03d}" for n in range(WRITTEN_KEPT + 3)]
    keys = _coupled(world, *numbers)
    for key in keys:
        world.erp.put("customers", {"id": key, "phoneNumber": "7"})

    report = world.coupler.sync("CUSTOMER", numbers)

    assert report.job.counters.modified == len(numbers)
    assert len(report.written) == WRITTEN_KEPT


class _ShortPhones(InMemoryConnector):
    """A CRM whose telephone holds 20 characters, as its metadata says."""

    def describe(self, table: str) -> Mapping[str, ColumnInfo] | None:
        columns = dict(super().describe(table) or {})
        if "telephone1" in columns:
            columns["telephone1"] = replace(columns["telephone1"], max_length=20)
        return columns


def test_a_value_too_long_for_the_target_is_refused_in_the_users_words_before_it_is_sent() -> None:
    world = make_world(customer_mapping(), crm_class=_ShortPhones)
    [key] = _coupled(world, "C001")
    world.erp.put("customers", {"id": key, "phoneNumber": "+45 1234 5678 9012 3456 7890"})

    report = world.coupler.sync("CUSTOMER", ["C001"])

    assert report.job.counters.failed == 1
    assert [e.message for e in report.errors] == [
        "ERP Customer C001: Phone No. is 28 characters; CRM allows 20. Shorten it in ERP, then synchronize the "
        "record again."
    ]
    assert report.errors[0].detail is None, "nothing was sent, so the CRM said nothing"
    assert report.written == ()


def test_only_the_values_written_are_checked_against_the_target_lengths() -> None:
    moves = Transfer.of(
        customer_mapping(), Direction.TO_INTEGRATION, lengths={"telephone1": 20}, systems=("ERP", "CRM")
    )
    source = {"displayName": "Adatum", "phoneNumber": "+45 1234 5678 9012 3456 7890"}

    moves.check({"name": "Adatum"})  # the long phone number is not written: nothing to refuse
    with pytest.raises(ValueTooLong, match=r"^Phone No\. is 28 characters; CRM allows 20\. Shorten it in ERP"):
        moves.check(moves(source))
