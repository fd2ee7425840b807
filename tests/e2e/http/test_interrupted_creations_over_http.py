"""Creations in Business Central, which assigns record ids itself, interrupted by a network fault: a ``$batch`` of
creations whose answer is lost after the server acted, or one that is refused, as the first, middle or last batch of
a run. Re-runs never create a record twice, on either side: the records the interrupted run created are found
again by the values it sent and coupled, the others are created once.

Accounts that exist in Sales only are created as customers by a full synchronization of CUSTOMER; with the
Business Central connector sending 6 creations per ``$batch``, 17 of them take three batches, all in one page (one
insert). A batch that fails loses the answers of the batches before it in that insert too; a refused first batch
leaves nothing created, and checks that the intents of records never created are dropped and the records created
once.
"""

from __future__ import annotations

import pytest

from coupler.domain.errors import CouplerError
from coupler.domain.mapping import Side

from .support import HttpDemo, add_accounts, query

CREATING = r'(?s)^POST \S*\$batch\n.*"method": ?"POST"'
"""A Business Central ``$batch`` that creates records."""

NEW = [f"Interrupted Traders {n:02}" for n in range(12)]


def _sending_six_per_batch(demo: HttpDemo) -> None:
    text = demo.config.read_text(encoding="utf-8")
    local = text.index("[local]")
    end = text.index("\n\n", local)
    demo.config.write_text(text[:end] + "\nbatch_size = 6" + text[end:], encoding="utf-8")


def _duplicates(demo: HttpDemo) -> list[dict[str, object]]:
    customers = "SELECT displayName AS n, count(*) AS c FROM customers GROUP BY lower(displayName) HAVING c > 1"
    accounts = "SELECT name AS n, count(*) AS c FROM account GROUP BY lower(name) HAVING c > 1"
    return query(demo.erp, customers) + query(demo.crm, accounts)


@pytest.mark.parametrize("position", [0, 1, 2], ids=["first", "middle", "last"])
@pytest.mark.parametrize("fault", ["drop-answer", "error"], ids=["answer-lost", "refused"])
def test_creations_interrupted_by_a_fault_are_never_made_twice(http_demo: HttpDemo, fault: str, position: int) -> None:
    _sending_six_per_batch(http_demo)
    add_accounts(http_demo.crm, NEW)
    with http_demo.open() as coupler:
        coupler.match("SALESPEOPLE", sync_after=Side.INTEGRATION)
        coupler.match("CURRENCY", sync_after=Side.LOCAL)
        coupler.sync_full("CURRENCY")
        coupler.match("CUSTOMER", create_missing=True, sync_after=Side.LOCAL)
        http_demo.bc_faults.aim(fault, matching=CREATING, skip=position)
        with pytest.raises(CouplerError):
            coupler.sync_full("CUSTOMER")
        assert http_demo.bc_faults.injected[fault] == 1
        again = [coupler.sync_full("CUSTOMER") for _ in range(2)]

    assert _duplicates(http_demo) == [], "no customer and no account was created twice"
    assert again[-1].job.counters.as_dict()["inserted"] == 0, "the second re-run found nothing left to create"
    customers = {r["displayName"]: r["id"] for r in query(http_demo.erp, "SELECT id, displayName FROM customers")}
    accounts = {r["name"]: r["accountid"] for r in query(http_demo.crm, "SELECT accountid, name FROM account")}
    state = http_demo.directory / "coupler-state.db"
    couplings = query(state, "SELECT local_key, integration_key FROM coupler_couplings WHERE mapping = 'CUSTOMER'")
    pairs = {(c["local_key"], c["integration_key"]) for c in couplings}
    assert {(customers[name], accounts[name]) for name in NEW} <= pairs, "each new account is coupled to its customer"
    for side in ("local_key", "integration_key"):
        keys = [c[side] for c in couplings]
        assert len(keys) == len(set(keys)), f"a {side} coupled twice"
    orphans = set(customers.values()) - {c["local_key"] for c in couplings}
    blocked = {r["id"] for r in query(http_demo.erp, "SELECT id FROM customers WHERE blocked != ''")}
    assert orphans <= blocked, "every customer in the mapping's scope is coupled"
