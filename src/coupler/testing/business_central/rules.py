"""What a real Business Central company does beyond storing what it is sent: the local currency on customers and
vendors, numbers from a number series, table relations checked, the contacts of a customer or vendor
(``contactsInformation``), and the salesperson's code that must not be blank. The seeded tenant
(``coupler.testing.tenant.business_central``) turns these on with ``business_central_app(..., rules=BcRules())``;
the demo's lenient server runs without them. Each rule cites its source (docs/research/bc-sales-sources.md)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from coupler.adapters.connectors.business_central.salespeople import inc_str
from coupler.testing.odata.http import ODataError
from coupler.testing.odata.store import Store

__all__ = ["BLANK_GUID", "BcRules", "TenantRules"]

BLANK_GUID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True, kw_only=True)
class BcRules:
    """The strict behaviours to turn on (all, by default). ``number_series``: entity set -> the number column filled
    from the last number when an insert leaves it blank (BC's No. Series)."""

    number_series: Mapping[str, str] | None = None

    def numbered(self) -> Mapping[str, str]:
        if self.number_series is not None:
            return self.number_series
        return {"customers": "number", "vendors": "number", "contacts": "number", "items": "number"}


def _validation(message: str) -> ODataError:
    return ODataError(400, "Internal_ValidationError", f"{message}  CorrelationId:  {uuid.uuid4()}.")


def _relation(field: str, table: str, value: str, related: str) -> ODataError:
    """The platform's message for a value a field's ``TableRelation`` cannot find (the wording Business Central shows
    for any TableRelation; it is the runtime's, not in the AL source)."""
    return _validation(
        f"The field {field} of table {table} contains a value ({value}) that cannot be found in the related table "
        f"({related})."
    )


class TenantRules:
    """``BcRules`` bound to the served database; the server calls ``served``, ``written`` and ``navigation``."""

    def __init__(self, store: Store, rules: BcRules) -> None:
        self.store = store
        self.rules = rules
        self.lcy = self._learn_lcy()

    def _learn_lcy(self) -> str:
        """General Ledger Setup's LCY Code (APIV2GLSetup ``localCurrencyCode``), or Company Information's."""
        with self.store.engine.connect() as conn:
            for sql in (
                'SELECT "localCurrencyCode" FROM "generalLedgerSetup"',
                'SELECT "currencyCode" FROM "companyInformation"',
            ):
                try:
                    value = conn.execute(sa.text(sql)).scalar()
                except sa.exc.OperationalError:
                    continue
                if value:
                    return str(value)
        return ""

    # -- reads -----------------------------------------------------------------------------------------------
    def served(self, name: str, out: dict[str, Any]) -> None:
        """``customers.currencyCode`` (and ``vendors.currencyCode``) answers the LCY code when the stored Currency
        Code is blank: APIV2Customers.Page.al ``SetCalculatedFields`` ->
        ``GraphMgtGeneralTools.TranslateNAVCurrencyCodeToCurrencyCode(LCYCurrencyCode, Rec."Currency Code")``
        (BCApps ``src/Apps/W1/APIV2/app/src/pages/``; research doc "Point 2"); ``currencyId`` stays the blank GUID."""
        if name in ("customers", "vendors") and out.get("currencyCode") == "":
            out["currencyCode"] = self.lcy

    def navigation(self, conn: sa.Connection, name: str, row: Mapping[str, Any], nav: str) -> list[dict[str, Any]]:
        """``customers(<id>)/contactsInformation``, ``vendors(<id>)/contactsInformation``: APIV2ContactsInformation
        (SubPageLink ``"Related Id" = SystemId, "Related Type" = const(Customer)``) over
        ``ContactInformationBuffer.LoadDataFromFilters`` (BCApps ``src/Layers/W1/BaseApp/CRM/Contact/
        ContactInformationBuffer.Table.al``): the first business relation of the customer names its company contact;
        the contacts whose Company No. is that contact (the persons) are returned, or the company contact itself
        when it has none. Read-only (research doc "Point 3")."""
        links = {"customers": "Customer", "vendors": "Vendor"}
        if nav != "contactsInformation" or name not in links:
            raise ODataError(404, "BadRequest_NotFound", f"The request URI is not valid: '{name}/{nav}'.")
        relation = conn.execute(
            sa.text(
                'SELECT "contactNumber" FROM "contactBusinessRelations" WHERE "linkToTable" = :link AND "number" = :n '
                'ORDER BY "contactNumber" LIMIT 1'
            ),
            {"link": links[name], "n": row["number"]},
        ).scalar()
        if relation is None:
            return []
        people = conn.execute(
            sa.text(
                'SELECT "id", "number", "displayName", "type" FROM "contacts" WHERE "companyNumber" = :c '
                'AND "type" = \'Person\' ORDER BY "number"'
            ),
            {"c": relation},
        ).all()
        if not people:
            people = conn.execute(
                sa.text('SELECT "id", "number", "displayName", "type" FROM "contacts" WHERE "number" = :c'),
                {"c": relation},
            ).all()
        return [
            {
                "contactId": person.id,
                "contactNumber": person.number,
                "contactName": person.displayName,
                "contactType": person.type,
                "relatedId": row["id"],
                "relatedType": links[name],
            }
            for person in people
        ]

    # -- writes ----------------------------------------------------------------------------------------------
    def written(
        self, conn: sa.Connection, name: str, values: dict[str, Any], existing: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """The values to store for a POST (``existing`` None) or PATCH to ``name``, as Business Central validates
        and completes them; a refusal is an ``ODataError``."""
        if name in ("customers", "vendors"):
            self._currency(conn, values)
        if name == "salespeoplePurchasers" and existing is None and not str(values.get("code") or "").strip():
            # Salesperson/Purchaser.Code is the primary key, ``NotBlank = true`` with ``TestField(Code)`` in its
            # OnValidate (BCApps src/Layers/W1/BaseApp/CRM/Team/SalespersonPurchaser.Table.al); the message is
            # TestField's.
            raise _validation("Code must have a value in Salesperson/Purchaser: Code=. It cannot be zero or empty.")
        if name == "items":
            self._unit(conn, values)
        if name == "contacts":
            self._company(conn, values, existing)
        column = self.rules.numbered().get(name)
        if existing is None and column is not None and not str(values.get(column) or "").strip():
            values[column] = self._next_number(conn, name, column)
        return values

    def inserted(self, conn: sa.Connection, name: str, row: Mapping[str, Any]) -> None:
        """After a customer or vendor is inserted, its company contact and business relation, as Customer's and
        Vendor's OnInsert do (``UpdateContFromCust.OnInsert(Rec)``, codeunit "CustCont-Update" /
        "VendCont-Update": a Company contact with the customer's name and a Contact Business Relation with the
        Marketing Setup's "Bus. Rel. Code for Customers" (CUST) / "for Vendors" (VEND); BCApps
        ``src/Layers/W1/BaseApp/Sales/Customer/Customer.Table.al``, ``Purchases/Vendor/Vendor.Table.al``)."""
        links = {"customers": ("Customer", "CUST"), "vendors": ("Vendor", "VEND")}
        if name not in links:
            return
        link, code = links[name]
        number = self._next_number(conn, "contacts", "number")
        contact = {
            "number": number,
            "type": "Company",
            "displayName": row.get("displayName") or "",
            "companyNumber": number,
            "companyName": row.get("displayName") or "",
            "contactBusinessRelation": link,
            "searchName": str(row.get("displayName") or "").upper(),
        }
        for column in (
            "addressLine1",
            "addressLine2",
            "city",
            "state",
            "country",
            "postalCode",
            "phoneNumber",
            "email",
        ):
            if row.get(column):
                contact[column] = row[column]
        self.store.insert(conn, "contacts", contact)
        conn.execute(
            sa.text('INSERT INTO "contactBusinessRelations" VALUES (:c, :code, :link, :n)'),
            {"c": number, "code": code, "link": link, "n": row["number"]},
        )

    def _currency(self, conn: sa.Connection, values: dict[str, Any]) -> None:
        """APIV2Customers / APIV2Vendors ``currencyCode`` OnValidate: ``TranslateCurrencyCodeToNAVCurrencyCode``
        makes the LCY code blank; blank sets ``Currency Id`` to the blank GUID, any other code must be a Currency
        ("The "currencyCode" does not match to a Currency."). ``currencyId`` sets the code (research doc "Point 2")."""
        if "currencyCode" in values:
            code = str(values["currencyCode"] or "")
            if code == "" or code.upper() == self.lcy.upper():
                values["currencyCode"], values["currencyId"] = "", BLANK_GUID
                return
            found = conn.execute(sa.text('SELECT "id", "code" FROM "currencies" WHERE "code" = :c'), {"c": code})
            row = found.first()
            if row is None:
                raise _validation('The "currencyCode" does not match to a Currency.')
            values["currencyCode"], values["currencyId"] = row.code, row.id
        elif "currencyId" in values:
            key = str(values["currencyId"] or BLANK_GUID).lower()
            if key == BLANK_GUID:
                values["currencyCode"], values["currencyId"] = "", BLANK_GUID
                return
            row = conn.execute(sa.text('SELECT "code" FROM "currencies" WHERE "id" = :i'), {"i": key}).first()
            if row is None:
                raise _validation('The "currencyId" does not match to a Currency.')
            values["currencyCode"] = row.code

    def _unit(self, conn: sa.Connection, values: dict[str, Any]) -> None:
        """APIV2Items ``baseUnitOfMeasureCode`` validates Item."Base Unit of Measure", whose ``TableRelation`` is
        "Unit of Measure" (BCApps ``src/Layers/W1/BaseApp/Inventory/Item/Item.Table.al``); ``baseUnitOfMeasureId``
        sets the code."""
        if values.get("baseUnitOfMeasureCode"):
            code = str(values["baseUnitOfMeasureCode"])
            row = conn.execute(sa.text('SELECT "id" FROM "unitsOfMeasure" WHERE "code" = :c'), {"c": code}).first()
            if row is None:
                raise _relation("Base Unit of Measure", "Item", code, "Unit of Measure")
            values["baseUnitOfMeasureId"] = row.id
        elif values.get("baseUnitOfMeasureId") and str(values["baseUnitOfMeasureId"]).lower() != BLANK_GUID:
            key = str(values["baseUnitOfMeasureId"]).lower()
            row = conn.execute(sa.text('SELECT "code" FROM "unitsOfMeasure" WHERE "id" = :i'), {"i": key}).first()
            if row is None:
                raise _validation('The "baseUnitOfMeasureId" does not match to a Unit of Measure.')
            values["baseUnitOfMeasureCode"] = row.code

    def _company(self, conn: sa.Connection, values: dict[str, Any], existing: Mapping[str, Any] | None) -> None:
        """Contact."Company No." has ``TableRelation = Contact where(Type = const(Company))`` and its OnValidate
        copies the company's name and business relation to the person (``InheritCompanyToPersonData``; BCApps
        ``src/Layers/W1/BaseApp/CRM/Contact/Contact.Table.al``, field 5051)."""
        number = str(values.get("companyNumber") or "")
        kind = values.get("type", existing.get("type") if existing else "Company")
        if not number:
            return
        company = conn.execute(
            sa.text(
                'SELECT "displayName", "contactBusinessRelation" FROM "contacts" WHERE "number" = :n AND '
                "\"type\" = 'Company'"
            ),
            {"n": number},
        ).first()
        own = values.get("number", existing.get("number") if existing else None)
        if company is None and not (kind == "Company" and number == own):
            raise _relation("Company No.", "Contact", number, "Contact")
        if company is not None and kind == "Person":
            values["companyName"] = company.displayName
            values["contactBusinessRelation"] = company.contactBusinessRelation

    def _next_number(self, conn: sa.Connection, name: str, column: str) -> str:
        """The next number of the entity's number series: the highest number used, incremented as AL's
        ``IncStr`` does (its trailing digits, keeping their width)."""
        numbers = conn.execute(sa.text(f'SELECT "{column}" FROM "{name}" WHERE "{column}" <> \'\'')).scalars()
        last = max(numbers, key=lambda n: (len(n), n), default="")
        return inc_str(last or "1")
