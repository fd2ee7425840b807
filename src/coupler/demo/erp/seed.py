"""Deterministic ERP demo data: the same seed always gives the same rows (modified-on aside, which the triggers set).

All choices come from one ``random.Random(seed)``; GUIDs are uuid5 of the seed, the table and the record's
natural key, so they do not depend on the order in which rows are generated.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from collections.abc import Sequence
from typing import Any

from coupler.demo import catalog

__all__ = ["Row", "Seeder", "ascii_fold", "email_local", "guid"]

Row = dict[str, Any]

_NAMESPACE = uuid.UUID("ddba2b22-fad8-4541-8339-f11558d2a8e7")
_FOLD = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "å": "a", "Å": "A", "ß": "ss", "'": ""})


def guid(seed: int, table: str, natural_key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{seed}/{table}/{natural_key}"))


def ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def email_local(*names: str) -> str:
    return ".".join(ascii_fold(name).lower().replace(" ", "") for name in names)


class Seeder:
    """Generates the ERP rows; ``seed_crm`` derives the CRM rows from them with the same generator."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)

    def guid(self, table: str, natural_key: str) -> str:
        return guid(self.seed, table, natural_key)

    def digits(self, pattern: str) -> str:
        return "".join(str(self.rng.randrange(10)) if ch == "#" else ch for ch in pattern)

    @staticmethod
    def city(name: str) -> catalog.City:
        return next(city for city in catalog.CITIES if city.name == name)

    def phone(self, city: catalog.City) -> str:
        return self.digits(city.phone)

    def street(self, city: catalog.City) -> str:
        name = self.rng.choice(catalog.STREETS[city.country])
        number = self.rng.randrange(1, 250)
        return f"{number} {name}" if city.country in {"US", "CA", "GB"} else f"{name} {number}"

    def address(self, city: catalog.City) -> Row:
        """An address in BC field names."""
        return {
            "addressLine1": self.street(city),
            "city": city.name,
            "postalCode": self.rng.choice(city.postal_codes),
            "country": city.country,
        }

    # ERP ------------------------------------------------------------------------------------------------------

    def salespeople(self) -> list[Row]:
        return [
            {
                "id": self.guid("salespeoplePurchasers", code),
                "code": code,
                "displayName": name,
                "email": f"{email_local(*name.split())}@cronus.example",
                "phoneNo": self.digits("+1 425 555 01##"),
                "jobTitle": title,
            }
            for code, name, title in catalog.SALESPEOPLE
        ]

    def currencies(self) -> list[Row]:
        """The foreign currencies: Business Central's currency table does not list the local currency."""
        return [
            {"id": self.guid("currencies", code), "code": code, "displayName": name, "symbol": symbol}
            for code, name, symbol in catalog.CURRENCIES
            if code != catalog.LOCAL_CURRENCY
        ]

    def customers(self) -> list[Row]:
        count = len(catalog.COMPANIES)
        blocked_at = self.rng.sample(range(count), 6)
        blocked = dict(zip(blocked_at, ("All", "All", "All", "Invoice", "Invoice", "Ship"), strict=True))
        codes = [code for code, _, _ in catalog.SALESPEOPLE]
        terms = random.Random(f"{self.seed}/payment terms")  # its own stream: the other choices stay as they were
        rows = []
        for index, (name, domain) in enumerate(catalog.COMPANIES):
            number = f"C{(index + 1) * 10:05d}"
            city = self.rng.choice(catalog.CITIES)
            address = self.address(city)
            line2 = self.rng.choice((None, None, None, "Suite 200", "Building 3", "2nd floor"))
            rows.append(
                {
                    "id": self.guid("customers", number),
                    "number": number,
                    "displayName": name,
                    "addressLine1": address["addressLine1"],
                    "addressLine2": line2,
                    "city": city.name,
                    "state": city.state,
                    "country": city.country,
                    "postalCode": address["postalCode"],
                    "phoneNumber": self.phone(city),
                    "email": f"{self.rng.choice(('info', 'sales', 'orders', 'accounts'))}@{domain}",
                    "website": f"www.{domain}",
                    "salespersonCode": self.rng.choice(codes),
                    "currencyCode": None if city.currency == catalog.LOCAL_CURRENCY else city.currency,
                    "paymentTermsCode": terms.choice(catalog.PAYMENT_TERMS)[0],
                    "creditLimit": float(self.rng.choice((0, 5000, 10000, 25000, 50000, 100000))),
                    "blocked": blocked.get(index, ""),
                }
            )
        return rows

    def person(self, company: Row, domain: str, taken: set[tuple[str, str]]) -> Row:
        """A person working at ``company`` (a customer row), with name parts and contact details."""
        while True:
            first, surname = self.rng.choice(catalog.FIRST_NAMES), self.rng.choice(catalog.SURNAMES)
            if (first, surname) not in taken:
                taken.add((first, surname))
                break
        city = self.city(company["city"])
        mobile = self.phone(city) if self.rng.random() < 0.7 else None
        return {
            "firstName": first,
            "middleName": self.rng.choice(catalog.MIDDLE_NAMES) if self.rng.random() < 0.1 else None,
            "surname": surname,
            "jobTitle": self.rng.choice(catalog.JOB_TITLES),
            "phoneNumber": self.phone(city),
            "mobilePhoneNumber": mobile,
            "email": f"{email_local(first, surname)}@{domain}",
        }

    def contacts(self, customers: Sequence[Row]) -> list[Row]:
        """A company contact per customer (as Business Central keeps them) and 2-3 persons for most. Every contact's
        ``companyNumber`` is its customer's number, which the CONTACT mapping looks up through CUSTOMER."""
        domains = dict(catalog.COMPANIES)
        rows: list[Row] = []
        taken: set[tuple[str, str]] = set()

        def add(values: Row) -> Row:
            number = f"CT{len(rows) + 1:06d}"
            row = {"id": self.guid("contacts", number), "number": number, **values}
            rows.append(row)
            return row

        for customer in customers:
            address = {k: customer[k] for k in ("addressLine1", "city", "postalCode", "country")}
            add(
                {
                    "type": "Company",
                    "firstName": None,
                    "middleName": None,
                    "surname": None,
                    "jobTitle": None,
                    "companyNumber": customer["number"],
                    "companyName": customer["displayName"],
                    **address,
                    "phoneNumber": customer["phoneNumber"],
                    "mobilePhoneNumber": None,
                    "email": customer["email"],
                }
            )
            persons = 0 if self.rng.random() < 0.15 else self.rng.choice((2, 2, 3))
            for _ in range(persons):
                person = self.person(customer, domains[customer["displayName"]], taken)
                add({"type": "Person", **person, "companyNumber": customer["number"],
                     "companyName": customer["displayName"], **address})  # fmt: skip
        return rows

    def items(self) -> list[Row]:
        blocked = set(self.rng.sample([i.number for i in catalog.ITEMS if i.type == "Inventory"], 2))
        rows = []
        for item in catalog.ITEMS:
            stocked = item.type == "Inventory"
            rows.append(
                {
                    "id": self.guid("items", item.number),
                    "number": item.number,
                    "displayName": item.name,
                    "type": item.type,
                    "unitPrice": item.price,
                    "unitCost": round(item.price * self.rng.uniform(0.55, 0.75), 2),
                    "inventory": float(self.rng.randrange(0, 120)) if stocked else 0.0,
                    "baseUnitOfMeasureCode": item.unit,
                    "blocked": 1 if item.number in blocked else 0,
                }
            )
        return rows

    def erp(self) -> dict[str, list[Row]]:
        customers = self.customers()
        return {
            "salespeoplePurchasers": self.salespeople(),
            "currencies": self.currencies(),
            "customers": customers,
            "contacts": self.contacts(customers),
            "items": self.items(),
        }
