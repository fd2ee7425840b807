"""Deterministic CRM demo data, derived from the ERP rows so that both systems know some of the same things.

About fifteen active ERP customers also exist as accounts (same name, some in other letter case or with the phone
written differently: material for match-based coupling), next to accounts only the CRM has. Their owner is the user
of the customer's salesperson, their currency the customer's (none for the local currency, which is the CRM's base
currency), their payment terms the option value of the customer's code. The salespeople are CRM users, besides an
integration user and a disabled user. Nothing is coupled.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from coupler.demo import catalog
from coupler.demo.crm.schema import CUSTOMER_TYPE_CUSTOMER
from coupler.demo.erp.seed import Row, Seeder

__all__ = ["MATCHED_ACCOUNTS", "seed_crm"]

MATCHED_ACCOUNTS = 15
_CRM_CURRENCIES = {catalog.LOCAL_CURRENCY: 1.0, "EUR": 0.92}
"""The CRM's currencies and exchange rates; the ERP's local currency is its base currency (rate 1)."""
_PROSPECT = 8
_OPTION = dict(catalog.PAYMENT_TERMS)


def _currencies(seeder: Seeder) -> list[Row]:
    return [
        {
            "transactioncurrencyid": seeder.guid("transactioncurrency", code),
            "isocurrencycode": code,
            "currencysymbol": symbol,
            "currencyname": name,
            "exchangerate": _CRM_CURRENCIES[code],
            "currencyprecision": 2,
        }
        for code, name, symbol in catalog.CURRENCIES
        if code in _CRM_CURRENCIES
    ]


def _users(seeder: Seeder, salespeople: Sequence[Row]) -> list[Row]:
    def user(name: str, email: str, mobile: str | None, **flags: int) -> Row:
        values = {"isdisabled": 0, "islicensed": 1, "isintegrationuser": 0, **flags}
        return {
            "systemuserid": seeder.guid("systemuser", name),
            "fullname": name,
            "internalemailaddress": email,
            "mobilephone": mobile,
            **values,
        }

    changed_phone = seeder.rng.randrange(len(salespeople))
    users = [
        user(
            person["displayName"],
            person["email"],
            seeder.digits("+1 425 555 01##") if index == changed_phone else person["phoneNo"],
        )
        for index, person in enumerate(salespeople)
    ]
    users.append(user("# Coupler Integration", "coupler-integration@cronus.example", None, isintegrationuser=1,
                      islicensed=0))  # fmt: skip
    users.append(user("Morgan Blake", "morgan.blake@cronus.example", "+1 425 555 0199", isdisabled=1))
    return users


def _account(customer: Mapping[str, Any], **values: Any) -> Row:
    return {
        "name": customer["displayName"],
        "accountnumber": None,
        "address1_line1": customer["addressLine1"],
        "address1_line2": customer["addressLine2"],
        "address1_city": customer["city"],
        "address1_stateorprovince": customer["state"],
        "address1_country": customer["country"],
        "address1_postalcode": customer["postalCode"],
        "telephone1": customer["phoneNumber"],
        "emailaddress1": customer["email"],
        "websiteurl": customer["website"],
        "creditlimit": customer["creditLimit"],
        "statecode": 0,
        "statuscode": 1,
        "customertypecode": CUSTOMER_TYPE_CUSTOMER,
        **values,
    }


def _accounts(
    seeder: Seeder, erp: Mapping[str, Sequence[Row]], users: Mapping[str, str], currencies: Mapping[str, str]
) -> list[Row]:
    rng = seeder.rng
    active = [c for c in erp["customers"] if c["blocked"] == ""]
    matched = sorted(rng.sample(active, MATCHED_ACCOUNTS), key=lambda c: c["number"])
    varied = rng.sample(range(MATCHED_ACCOUNTS), 7)
    upper_case, other_phone = set(varied[:3]), set(varied[3:])
    owner_of = {p["code"]: users[p["displayName"]] for p in erp["salespeoplePurchasers"]}
    terms = random.Random(f"{seeder.seed}/account payment terms")  # its own stream: the rest stays as it was
    rows = []
    for index, customer in enumerate(matched):
        name = customer["displayName"].upper() if index in upper_case else customer["displayName"]
        phone = customer["phoneNumber"].replace(" ", "") if index in other_phone else customer["phoneNumber"]
        rows.append(
            {
                "accountid": seeder.guid("account", customer["number"]),
                **_account(customer, name=name, telephone1=phone),
                "paymenttermscode": _OPTION[customer["paymentTermsCode"]],
                "ownerid": owner_of[customer["salespersonCode"]],
                # a blank currency code is the local currency: the account holds none (the base currency)
                "transactioncurrencyid": currencies.get(customer["currencyCode"] or ""),
            }
        )
    owners = list(owner_of.values())
    last = len(catalog.CRM_ONLY_COMPANIES) - 1
    for index, (name, domain) in enumerate(catalog.CRM_ONLY_COMPANIES):
        city = rng.choice(catalog.CITIES)
        address = seeder.address(city)
        customer = {
            "displayName": name, "addressLine1": address["addressLine1"], "addressLine2": None, "city": city.name,
            "state": city.state, "country": city.country, "postalCode": address["postalCode"],
            "phoneNumber": seeder.phone(city), "email": f"contact@{domain}", "website": f"www.{domain}",
            "creditLimit": None,
        }  # fmt: skip
        rows.append(
            {
                "accountid": seeder.guid("account", name),
                **_account(
                    customer,
                    statecode=1 if index == last else 0,
                    statuscode=2 if index == last else 1,
                    customertypecode=_PROSPECT if index == last - 1 else CUSTOMER_TYPE_CUSTOMER,
                ),
                "paymenttermscode": terms.choice(catalog.PAYMENT_TERMS)[1],
                "ownerid": rng.choice(owners),
                "transactioncurrencyid": currencies.get(city.currency),
            }
        )
    return rows


def _contact(seeder: Seeder, account: Mapping[str, Any] | None, person: Mapping[str, Any]) -> Row:
    parent = account["accountid"] if account else None
    name = f"{person['firstName']} {person['surname']}"
    return {
        "contactid": seeder.guid("contact", f"{parent}/{name}"),
        "firstname": person["firstName"],
        "middlename": person["middleName"],
        "lastname": person["surname"],
        "jobtitle": person["jobTitle"],
        "parentcustomerid": parent,
        "address1_line1": account["address1_line1"] if account else None,
        "address1_city": account["address1_city"] if account else None,
        "address1_postalcode": account["address1_postalcode"] if account else None,
        "address1_country": account["address1_country"] if account else None,
        "telephone1": person["phoneNumber"],
        "mobilephone": person["mobilePhoneNumber"],
        "emailaddress1": person["email"],
        "statecode": 0,
    }


def _contacts(seeder: Seeder, erp: Mapping[str, Sequence[Row]], accounts: Sequence[Row]) -> list[Row]:
    """Some of the ERP's people at the shared companies, plus people only the CRM knows (one without a company)."""
    rng = seeder.rng
    persons = [c for c in erp["contacts"] if c["type"] == "Person"]
    taken = {(p["firstName"], p["surname"]) for p in persons}
    rows = []
    for account in accounts[:MATCHED_ACCOUNTS]:
        colleagues = [p for p in persons if p["companyName"].lower() == account["name"].lower()]
        if colleagues and rng.random() < 0.6:
            shared = dict(colleagues[0])
            if rng.random() < 0.3:
                shared["mobilePhoneNumber"] = seeder.phone(seeder.city(account["address1_city"]))
            rows.append(_contact(seeder, account, shared))
    active = [a for a in accounts if a["statecode"] == 0]
    for account in rng.sample(active, 6):
        domain = str(account["websiteurl"]).removeprefix("www.")
        rows.append(_contact(seeder, account, seeder.person({"city": account["address1_city"]}, domain, taken)))
    loner = seeder.person({"city": "Seattle"}, "outlook.example", taken)
    rows.append(_contact(seeder, None, loner))
    return rows


def _products(seeder: Seeder, items: Sequence[Row]) -> list[Row]:
    rng = seeder.rng
    stocked = [i for i in items if i["blocked"] == 0 and i["type"] == "Inventory"]
    shared = sorted(rng.sample(stocked, 6), key=lambda i: i["number"])
    repriced = set(rng.sample(range(len(shared)), 2))
    rows = [
        {
            "productid": seeder.guid("product", item["number"]),
            "productnumber": item["number"],
            "name": item["displayName"],
            "price": round(item["unitPrice"] * 1.05, 2) if index in repriced else item["unitPrice"],
            "standardcost": item["unitCost"],
            "quantityonhand": item["inventory"],
            "producttypecode": 1,
            "quantitydecimal": 0,
            "statecode": 0,
        }
        for index, item in enumerate(shared)
    ]
    last = len(catalog.CRM_ONLY_PRODUCTS) - 1
    for index, (number, name, price, type_code) in enumerate(catalog.CRM_ONLY_PRODUCTS):
        rows.append(
            {
                "productid": seeder.guid("product", number),
                "productnumber": number,
                "name": name,
                "price": price,
                "standardcost": None,
                "quantityonhand": 0.0,
                "producttypecode": type_code,
                "quantitydecimal": 0,
                "statecode": 1 if index == last else 0,
            }
        )
    return rows


def seed_crm(seeder: Seeder, erp: Mapping[str, Sequence[Row]]) -> dict[str, list[Row]]:
    currencies = _currencies(seeder)
    users = _users(seeder, erp["salespeoplePurchasers"])
    user_ids = {u["fullname"]: u["systemuserid"] for u in users}
    currency_ids = {c["isocurrencycode"]: c["transactioncurrencyid"] for c in currencies}
    accounts = _accounts(seeder, erp, user_ids, currency_ids)
    return {
        "systemuser": users,
        "transactioncurrency": currencies,
        "account": accounts,
        "contact": _contacts(seeder, erp, accounts),
        "product": _products(seeder, erp["items"]),
    }
