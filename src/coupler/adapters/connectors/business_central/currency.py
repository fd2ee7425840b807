"""The local currency (LCY) and exchange rates of a Business Central company.

- The LCY is General Ledger Setup's LCY Code (``generalLedgerSetup.localCurrencyCode`` and ``localCurrencySymbol``,
  APIV2GLSetup, microsoft/ALAppExtensions ``Apps/W1/APIV2/app/src/pages/APIV2GLSetup.Page.al``; the page has no
  description), else Company Information's ``currencyCode`` (APIV2CompanyInformation: ``LCYCurrencyCode``), unless
  the settings name it (``local_currency``). docs/research/bc-sales-sources.md, "Point 2".
- ``currencies`` has no row for the LCY (a blank Currency Code means the LCY everywhere in Business Central), yet a
  local-currency customer's ``currencyCode`` is the LCY code. The connector shows one more, read-only row for it:
  ``id`` the blank GUID, ``code`` the LCY, stamped 2000-01-01 so that incremental reads never pick it, so that a
  lookup by code and the CURRENCY coupling by ISO code treat it as any currency (BC pairs its LCY with the
  Dataverse currency whose ISO code is the LCY code: ``CRMSynchHelper.GetCRMTransactioncurrency``).
- ``exchangeRate``: units of the currency per 1 LCY, as BC computes it for Dataverse
  (``CRMSynchHelper.GetCRMLCYToFCYExchangeRate`` -> ``CurrencyExchangeRate.GetCurrentCurrencyFactor``): the latest
  ``currencyExchangeRates`` row with ``startingDate`` <= today and a blank ``relationalCurrencyCode``, its
  ``exchangeRateAmount / relationalExchangeRateAmount`` rounded to 10 decimals; 1 for the LCY; None without a rate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from coupler.adapters.connectors.business_central.computed import ComputedColumn

__all__ = ["LCY_STAMP", "ExchangeRate", "LocalCurrency", "lcy_row", "rates_per_lcy"]

LCY_STAMP = "2000-01-01T00:00:00Z"


@dataclass(frozen=True, kw_only=True, slots=True)
class LocalCurrency:
    code: str
    symbol: str = ""
    name: str = ""
    source: str = "General Ledger Setup"

    @property
    def caption(self) -> str:
        return self.name or self.code

    def read_only_message(self) -> str:
        return (
            f"{self.caption} is Business Central's local currency ({self.source}), not a currency record; it cannot "
            "be changed from Dynamics 365 Sales"
        )


def lcy_row(lcy: LocalCurrency, blank_guid: str) -> dict[str, Any]:
    """The ``currencies`` row shown for the LCY, as the service would send it."""
    return {
        "id": blank_guid,
        "code": lcy.code,
        "displayName": lcy.caption,
        "symbol": lcy.symbol,
        "amountDecimalPlaces": "",
        "amountRoundingPrecision": 0,
        "lastModifiedDateTime": LCY_STAMP,
    }


def rates_per_lcy(rows: Iterable[Mapping[str, Any]], today: date) -> dict[str, float]:
    """Currency code -> units of it per 1 LCY, from ``currencyExchangeRates`` rows."""
    latest: dict[str, tuple[str, float]] = {}
    for row in rows:
        code, starting = str(row.get("currencyCode") or ""), str(row.get("startingDate") or "")
        if not code or str(row.get("relationalCurrencyCode") or "") or starting > today.isoformat():
            continue
        try:
            amount = Decimal(str(row.get("exchangeRateAmount")))
            relational = Decimal(str(row.get("relationalExchangeRateAmount")))
            rate = float(round(amount / relational, 10))
        except (InvalidOperation, ZeroDivisionError):
            continue
        if code not in latest or starting > latest[code][0]:
            latest[code] = (starting, rate)
    return {code: rate for code, (_, rate) in latest.items()}


class ExchangeRate(ComputedColumn):
    """``currencies.exchangeRate`` (decimal, read-only)."""

    name = "exchangeRate"
    type = "decimal"
    needs = ("code",)

    def __init__(self, rates: Callable[[], Mapping[str, float]], lcy: Callable[[], LocalCurrency | None]) -> None:
        self._rates = rates
        self._lcy = lcy

    def fill(self, rows: list[dict[str, Any]]) -> None:
        lcy = self._lcy()
        rates = self._rates() if any(lcy is None or r.get("code") != lcy.code for r in rows) else {}
        for row in rows:
            code = row.get("code")
            row[self.name] = 1.0 if lcy is not None and code == lcy.code else rates.get(str(code))
