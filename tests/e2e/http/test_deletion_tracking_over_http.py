"""Dataverse change tracking across processes: the delta token is kept in the state store, so an account deleted
in Dataverse between two separate sessions (two ``coupler sync`` runs) is reported to the second, which deletes the
coupled customer; an expired token starts tracking over and says so."""

from __future__ import annotations

import re

import pytest

from coupler.domain.errors import RecordNotFound
from coupler.domain.mapping import Side
from coupler.services.api import Coupler

from .support import HttpDemo, execute, query


def _propagating(demo: HttpDemo) -> None:
    """The demo's CUSTOMER mapping with ``delete = "propagate"``."""
    text = demo.config.read_text(encoding="utf-8")
    changed, count = re.subn(
        r'(name = "CUSTOMER"\n(?:(?!\[\[mappings\]\]).*\n)*?delete = )"ignore"', r'\1"propagate"', text
    )
    assert count == 1
    demo.config.write_text(changed, encoding="utf-8")


def _coupled_customers(coupler: Coupler) -> tuple[str, str]:
    """Salespeople, currencies and customers coupled and synchronized; customer C00010's id and account."""
    coupler.match("SALESPEOPLE", sync_after=Side.INTEGRATION)  # some have no partner (reported, as in the demo)
    coupler.match("CURRENCY", sync_after=Side.LOCAL)
    for name in ("CURRENCY", "SALESPEOPLE"):
        coupler.sync_full(name)
    coupler.match("CUSTOMER", create_missing=True, sync_after=Side.LOCAL)
    coupler.sync_full("CUSTOMER")
    coupling = coupler.status("CUSTOMER", "C00010").coupling
    assert coupling is not None
    return coupling.local_key, coupling.integration_key


def _customer_exists(demo: HttpDemo, key: str) -> bool:
    return bool(query(demo.erp, "SELECT 1 FROM customers WHERE id = ?", (key,)))


def test_an_account_deleted_between_two_sessions_deletes_its_customer(http_demo: HttpDemo) -> None:
    _propagating(http_demo)
    with http_demo.open() as first:
        customer, account = _coupled_customers(first)
        assert first.sync_modified(["CUSTOMER"])[0].job.counters.deleted == 0
    assert execute(http_demo.crm, "DELETE FROM account WHERE accountid = ?", (account,)) == 1  # someone, in Sales

    with http_demo.open() as second:
        [report] = second.sync_modified(["CUSTOMER"])
        assert report.ok, [e.message for e in report.errors]
        assert (report.job.counters.deleted, report.job.counters.uncoupled) == (1, 1)
        with pytest.raises(RecordNotFound, match="C00010"):  # gone on both sides, and no longer coupled
            second.status("CUSTOMER", "C00010")
        assert second.deletions() == []
    assert not _customer_exists(http_demo, customer)

    with http_demo.open() as third:
        [again] = third.sync_modified(["CUSTOMER"])
        assert again.ok and again.job.counters.deleted == 0, "reported once"


def test_an_expired_delta_token_starts_over_and_the_deletion_waits_for_approval(http_demo: HttpDemo) -> None:
    _propagating(http_demo)
    with http_demo.open() as first:
        customer, account = _coupled_customers(first)
    http_demo.dv_faults.expire_delta_tokens()
    assert execute(http_demo.crm, "DELETE FROM account WHERE accountid = ?", (account,)) == 1

    with http_demo.open() as second:
        [report] = second.sync_modified(["CUSTOMER"])
        assert report.job.counters.deleted == 0  # (the demo's over-long account name fails, as in every run)
        assert "started over" in (report.job.message or "")
    assert _customer_exists(http_demo, customer), "nothing deleted that the feed did not report"

    assert execute(http_demo.erp, "UPDATE customers SET city = 'Aarhus' WHERE id = ?", (customer,)) == 1
    with http_demo.open() as third:
        third.sync_modified(["CUSTOMER"])
        assert [p.deleted_key for p in third.deletions()] == [account], "noticed as a missing partner instead"
        [after] = third.sync_modified(["CUSTOMER"])
        assert "started over" not in (after.job.message or ""), "tracking goes on from the fresh token"
