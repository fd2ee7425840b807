"""Services over in-memory fakes: two systems and a state store, no database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from coupler.adapters.connectors.memory.connector import InMemoryConnector
from coupler.adapters.store.memory.store import InMemoryStateStore
from coupler.domain.mapping import Condition, Direction, FieldMapping, Operator, TableMapping, TableSpec
from coupler.services.api import Coupler
from coupler.services.context import Systems
from coupler.services.views.page_queries import PageQueries


def customer_mapping(direction: Direction = Direction.BIDIRECTIONAL, *, only_coupled: bool = True) -> TableMapping:
    one_way = Direction.TO_INTEGRATION if direction.allows(Direction.TO_INTEGRATION) else direction
    fields = [
        FieldMapping(local="displayName", integration="name", direction=direction, caption="Name"),
        FieldMapping(local="phoneNumber", integration="telephone1", direction=direction, caption="Phone No."),
    ]
    if direction.allows(Direction.TO_INTEGRATION):
        fields += [
            FieldMapping(local="creditLimit", integration="creditlimit", direction=one_way),
            FieldMapping(local=None, integration="customertypecode", direction=one_way, constant=3, has_constant=True),
        ]
    if direction.allows(Direction.FROM_INTEGRATION):
        fields.append(FieldMapping(local="website", integration="websiteurl", direction=Direction.FROM_INTEGRATION))
    return TableMapping(
        name="CUSTOMER",
        local=TableSpec(
            table="customers",
            key="id",
            display_key="number",
            caption="Customer",
            modified_on="lastModifiedDateTime",
            filter=(Condition(field="blocked", op=Operator.EQ, value=""),),
        ),
        integration=TableSpec(
            table="account",
            key="accountid",
            display_key="name",
            caption="Account",
            modified_on="modifiedon",
            filter=(Condition(field="statecode", op=Operator.NE, value=1),),
        ),
        direction=direction,
        fields=tuple(fields),
        sync_only_coupled=only_coupled,
    )


def _not_empty(value: Any) -> str | None:
    return "column 'name' cannot be empty" if not value else None


def _short_phone(value: Any) -> str | None:
    return "telephone1 is longer than 20 characters" if value and len(str(value)) > 20 else None


@dataclass
class World:
    erp: InMemoryConnector
    crm: InMemoryConnector
    store: InMemoryStateStore
    coupler: Coupler

    @property
    def queries(self) -> PageQueries:
        """The web app's read models over the same systems."""
        return PageQueries(self.coupler.systems)

    def customer(self, number: str, **values: Any) -> str:
        row = {"number": number, "displayName": f"Customer {number}", "phoneNumber": "1", "blocked": ""}
        return self.erp.put("customers", {**row, **values})

    def account(self, name: str, **values: Any) -> str:
        return self.crm.put("account", {"name": name, "statecode": 0, "telephone1": "1", **values})

    def local_row(self, key: str) -> dict[str, Any]:
        return next(r for r in self.erp.rows("customers") if r["id"] == key)

    def account_row(self, key: str) -> dict[str, Any]:
        return next(r for r in self.crm.rows("account") if r["accountid"] == key)


def make_world(mapping: TableMapping, *, crm_class: type[InMemoryConnector] = InMemoryConnector) -> World:
    erp = InMemoryConnector(display_name="ERP")
    erp.add_table(
        "customers",
        "id",
        ["number", "displayName", "phoneNumber", "creditLimit", "website", "blocked"],
        modified_on="lastModifiedDateTime",
    )
    crm = crm_class(display_name="CRM")
    crm.add_table(
        "account",
        "accountid",
        ["name", "telephone1", "creditlimit", "customertypecode", "websiteurl", "statecode"],
        modified_on="modifiedon",
        constraints={"name": _not_empty, "telephone1": _short_phone},
    )
    store = InMemoryStateStore()
    systems = Systems(local=erp, integration=crm, store=store, mappings=[mapping], batch_size=3, overlap_ms=1000)
    return World(erp=erp, crm=crm, store=store, coupler=Coupler(systems))


@pytest.fixture
def world() -> World:
    return make_world(customer_mapping())
