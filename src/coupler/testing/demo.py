"""The table configs that put the demo's crm.db behind the Dataverse server and its erp.db behind the Business
Central server (entity set -> table), named as the real services name them."""

from __future__ import annotations

from coupler.testing.odata.tables import BcCompany, BcTable, DataverseTable

__all__ = ["CONTACT_TYPE", "CUSTOMER_BLOCKED", "DEMO_BC_TABLES", "DEMO_COMPANY", "DEMO_DATAVERSE_TABLES", "ITEM_TYPE"]

DEMO_DATAVERSE_TABLES = {
    "accounts": DataverseTable(
        table="account",
        key="accountid",
        primary_name="name",
        lookups={"ownerid": ("systemusers",), "transactioncurrencyid": ("transactioncurrencies",)},
        attribute_types={
            "creditlimit": "Money",
            "statecode": "State",
            "statuscode": "Status",
            "customertypecode": "Picklist",
            "paymenttermscode": "Picklist",
        },
    ),
    "contacts": DataverseTable(
        table="contact",
        key="contactid",
        primary_name="fullname",
        lookups={"parentcustomerid": ("accounts", "contacts")},
        attribute_types={"statecode": "State"},
    ),
    "systemusers": DataverseTable(
        table="systemuser",
        key="systemuserid",
        primary_name="fullname",
        booleans=frozenset({"isdisabled", "islicensed", "isintegrationuser"}),
    ),
    "transactioncurrencies": DataverseTable(
        table="transactioncurrency",
        key="transactioncurrencyid",
        primary_name="currencyname",
        attribute_types={"statecode": "State", "exchangerate": "Decimal"},
        lenient=True,  # the demo's currencies predate the required-column rules (dataverse/rules.py)
    ),
    "products": DataverseTable(
        table="product",
        key="productid",
        primary_name="name",
        attribute_types={
            "price": "Money",
            "standardcost": "Money",
            "statecode": "State",
            "producttypecode": "Picklist",
        },
        lenient=True,  # the demo's products have no unit group and start Active
    ),
}

CUSTOMER_BLOCKED = (" ", "Ship", "Invoice", "All")
"""Enum "Customer Blocked" (BCApps ``src/Layers/W1/BaseApp/Sales/Customer/CustomerBlocked.Enum.al``); erp.db holds the
blank member " " as ''."""
CONTACT_TYPE = ("Company", "Person")
"""Enum "Contact Type" (BCApps, Base Application)."""
ITEM_TYPE = ("Inventory", "Service", "Non-Inventory")
"""Enum "Item Type" (BCApps ``Microsoft.Inventory.Item``, "Item Type"): "Non-Inventory" travels as
``Non_x002D_Inventory``."""

DEMO_COMPANY = BcCompany(id="3d5b2137-efeb-4a2e-8c5d-0b7c2a5d1f00", name="CRONUS USA, Inc.", display_name="CRONUS USA")

DEMO_BC_TABLES = {
    "customers": BcTable(
        table="customers",
        entity_type="customer",
        edm_types={"creditLimit": "Edm.Decimal"},
        enums={"blocked": CUSTOMER_BLOCKED},
    ),
    "contacts": BcTable(table="contacts", entity_type="contact", enums={"type": CONTACT_TYPE}),
    "salespeoplePurchasers": BcTable(table="salespeoplePurchasers", entity_type="salespersonPurchaser"),
    "currencies": BcTable(table="currencies", entity_type="currency"),
    "items": BcTable(
        table="items",
        entity_type="item",
        booleans=frozenset({"blocked"}),
        edm_types={"unitPrice": "Edm.Decimal", "unitCost": "Edm.Decimal"},
        enums={"type": ITEM_TYPE},
    ),
}
