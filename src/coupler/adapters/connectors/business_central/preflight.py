"""What ``coupler check`` says about a Business Central environment: one line each, in an administrator's words.

The entity sets and properties come from API v2.0's ``$metadata`` (reachable with API.ReadWrite.All alone; the
automation API's ``extensions`` would tell the version but needs more permissions: docs/research/bc-sales-sources.md,
"Point 6"). ``salespeoplePurchasers`` appeared in Business Central 26.0 (2025 release wave 1): ALAppExtensions commit
``8cb747a5`` "Syncing with version 26.0.27417.0" (research doc, "Point 6").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from coupler.adapters.connectors.business_central.currency import LocalCurrency
from coupler.adapters.connectors.odata.entity import EntityInfo
from coupler.domain.errors import CouplerError
from coupler.ports.connector import Finding


class BusinessCentralConnector(Protocol):
    """What the checks read of the connector (``connector.py`` calls them with itself)."""

    display_name: str

    @property
    def company(self) -> str: ...

    def company_id(self) -> str: ...

    def entity_sets(self) -> Mapping[str, EntityInfo]: ...

    @property
    def setting_lcy(self) -> str | None: ...

    def local_currency(self) -> LocalCurrency | None: ...


__all__ = ["NEEDED_BY", "SALESPEOPLE_MISSING", "findings"]

SALESPEOPLE_MISSING = (
    "SALESPEOPLE needs Business Central 26.0 (2025 release wave 1) or later: the API v2.0 entity "
    "salespeoplePurchasers is missing. Update the environment or disable SALESPEOPLE and the owner mappings that "
    "depend on it."
)

NEEDED_BY: Mapping[tuple[str, str], tuple[str, ...]] = {("currencies", "exchangeRate"): ("currencyExchangeRates",)}
"""Entity sets the connector reads for a mapped column (a currency's computed exchange rate)."""


def findings(connector: BusinessCentralConnector, tables: Mapping[str, Sequence[str]]) -> list[Finding]:
    """The entity sets ``tables`` names (and those the connector reads for them) present, the salespeople's version
    named; the mapped properties are checked with every other column by `coupler check` itself."""
    needed = {name: () for table, columns in tables.items() for c in columns for name in NEEDED_BY.get((table, c), ())}
    wanted: Mapping[str, Sequence[str]] = {**needed, **tables}
    try:
        connector.company_id()
        sets = connector.entity_sets()
    except CouplerError as error:
        return [
            Finding(
                topic="API v2.0",
                ok=False,
                message=f"{connector.display_name} cannot be read: {error}",
                advice="Check the environment URL and the company name, and that the app registration is enabled "
                "on the Microsoft Entra Applications page with a permission set such as D365 AUTOMATION.",
            )
        ]
    out = [
        Finding(
            topic="API v2.0",
            ok=True,
            message=f"{connector.display_name} answers on API v2.0 and has the company {connector.company!r}.",
        )
    ]
    if "salespeoplePurchasers" in wanted:
        present = "salespeoplePurchasers" in sets
        out.append(
            Finding(
                topic="salespeoplePurchasers",
                ok=present,
                message="The API v2.0 entity salespeoplePurchasers is present (Business Central 26.0 or later)."
                if present
                else SALESPEOPLE_MISSING,
                advice="" if present else "Update the environment to 26.0 or later, or disable SALESPEOPLE.",
            )
        )
    for name in wanted:
        if name == "salespeoplePurchasers":
            continue
        if name not in sets:
            out.append(
                Finding(
                    topic=name,
                    ok=False,
                    message=f"The API v2.0 entity {name} is missing from this environment.",
                    advice="Update the environment, or disable the mappings that use it.",
                )
            )
    out.append(_lcy(connector, sets))
    if all(f.ok for f in out[1:]):
        out.append(Finding(topic="entities", ok=True, message="Every entity the mappings use is present."))
    return out


def _lcy(connector: BusinessCentralConnector, sets: Mapping[str, object]) -> Finding:
    if not {"generalLedgerSetup", "companyInformation"} & set(sets) and connector.setting_lcy is None:
        return Finding(
            topic="local currency",
            ok=True,
            message="This service has neither generalLedgerSetup nor companyInformation (it is not a standard API "
            "v2.0), so coupler does not know the local currency and reads currency codes as they are.",
            advice="Set local_currency in the settings if a blank currency code means the local currency.",
        )
    try:
        lcy = connector.local_currency()
    except CouplerError as error:
        lcy, problem = None, str(error)
    else:
        problem = ""
    if lcy is None:
        return Finding(
            topic="local currency",
            ok=False,
            message="The local currency (LCY) could not be learnt from the General Ledger Setup or the Company "
            f"Information{': ' + problem if problem else ''}.",
            advice="Fill in LCY Code on the General Ledger Setup page, or set local_currency in coupler's settings.",
        )
    return Finding(
        topic="local currency",
        ok=True,
        message=f"The local currency (LCY) is {lcy.code} ({lcy.source}); customers with a blank currency use it.",
    )
