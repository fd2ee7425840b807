"""A contact's customer (or vendor): ``contacts.customerNumber`` and ``contacts.vendorNumber``.

``contacts.companyNumber`` is the number of the person's *company contact*, not of a customer. Business Central links
a company contact to a customer through the Contact Business Relation table, which API v2.0 shows only from the
customer's side: ``customers(<id>)/contactsInformation`` lists the persons of the related company contact, or the
company contact itself when it has none (APIV2ContactsInformation over ``ContactInformationBuffer.LoadDataFromFilters``;
docs/research/bc-sales-sources.md, "Point 3"). So the connector reads every customer's ``contactsInformation`` in
``$batch``es of up to 100 GETs and keeps the answer (``Relations``):

- reading: a Person's ``customerNumber`` is the customer whose contactsInformation lists it; blank for a company
  contact and for a person whose company has no business relation (Business Central skips those:
  ``CDSIntTableSubscriber.HandleContactQueryPostFilterIgnoreRecord``);
- writing ``customerNumber`` sets ``companyNumber`` to that customer's company contact (the Company entry of its
  contactsInformation, else its persons' ``companyNumber``), as ``CRMSynchHelper.SetContactParentCompany`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from coupler.adapters.connectors.business_central.computed import ComputedColumn, NotWritable

__all__ = ["RelatedNumber", "Relations"]


@dataclass(kw_only=True)
class Relations:
    """What the ``contactsInformation`` of every customer (or vendor) says."""

    kind: str
    """"customer" or "vendor"."""
    of_person: dict[str, str] = field(default_factory=dict)
    """Person contact number -> customer number."""
    company: dict[str, str] = field(default_factory=dict)
    """Customer number -> its company contact, when contactsInformation names it (a company without persons)."""
    persons: dict[str, list[str]] = field(default_factory=dict)
    """Customer number -> the numbers of its persons."""

    def add(self, number: str, entries: list[Mapping[str, Any]]) -> None:
        for entry in entries:
            contact = str(entry.get("contactNumber") or "")
            if str(entry.get("contactType")) == "Person":
                self.of_person[contact] = number
                self.persons.setdefault(number, []).append(contact)
            elif contact:
                self.company[number] = contact


class RelatedNumber(ComputedColumn):
    """``contacts.customerNumber`` (``kind`` "customer") or ``contacts.vendorNumber`` ("vendor")."""

    type = "string"
    needs = ("type", "number")

    def __init__(
        self,
        kind: str,
        relations: Callable[[], Relations],
        company_of: Callable[[str], str | None],
    ) -> None:
        self.name = f"{kind}Number"
        self.kind = kind
        self._relations = relations
        self._company_of = company_of

    def fill(self, rows: list[dict[str, Any]]) -> None:
        relations = self._relations() if any(row.get("type") == "Person" for row in rows) else None
        for row in rows:
            person = relations is not None and row.get("type") == "Person"
            found = relations.of_person.get(str(row.get("number"))) if relations is not None and person else None
            row[self.name] = found or ""

    def written(self, value: Any, values: Mapping[str, Any]) -> dict[str, Any]:
        number = str(value or "").strip()
        if not number:
            return {}
        relations = self._relations()
        company = relations.company.get(number)
        if company is None:
            for person in relations.persons.get(number, []):
                company = self._company_of(person)
                if company:
                    break
        if not company:
            raise NotWritable(
                f"{self.kind.capitalize()} {number} has no company contact with a business relation in Business "
                "Central, so a contact cannot be put under it: create the customer's contact company first"
            )
        return {"companyNumber": company}
