"""How a row is made ready before Dataverse is asked to write it, as Business Central's subscribers do for the
same tables (pure functions; the connector asks the service what they need).

- A record's state is not sent in a create: Dataverse sets a new record's state itself (a product starts Draft,
  ce-docs publish-revise-revert-retire-activate-products), and a state changes by SetState, which the Web API does
  as a PATCH of ``statecode``/``statuscode``. The connector patches the state after the create when the row asks
  for another one, as BCApps ``CRMIntTableSubscriber.UpdateCRMProductAfterInsertRecord`` activates a product right
  after inserting it (``SetCRMProductStateToActive``).
- A transaction currency's blank symbol becomes its ISO code (BCApps ``CDSIntTableSubscriber.
  SetDefaultSymbolOnCRMTransactioncurrencyIfEmpty``, before insert and modify) and a missing precision the
  organization's ``currencydecimalprecision`` (``CRMIntTableSubscriber.UpdateCRMTransactionCurrencyBeforeInsertRecord``
  with ``CRMSynchHelper.GetCRMCurrencyDefaultPrecision``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["STATE", "currency_row", "guid_of", "split_state"]

STATE = ("statecode", "statuscode")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def split_state(row: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the create sends, the state to set afterwards)."""
    state = {n: row[n] for n in STATE if row.get(n) is not None}
    return {n: v for n, v in row.items() if n not in STATE}, state


def currency_row(row: Mapping[str, Any], *, precision: int | None, creating: bool, iso: str | None) -> dict[str, Any]:
    """A ``transactioncurrency`` row with Business Central's defaults: a blank ``currencysymbol`` (when the row sets
    one, or on create) becomes ``iso`` (the row's ISO code, or the record's on update); on create a missing
    ``currencyprecision`` becomes ``precision``."""
    prepared = dict(row)
    code = str(prepared.get("isocurrencycode") or iso or "").strip()
    if (creating or "currencysymbol" in prepared) and not str(prepared.get("currencysymbol") or "").strip() and code:
        prepared["currencysymbol"] = code
    if prepared.get("currencyprecision") is None and precision is not None and (creating or "currencyprecision" in row):
        prepared["currencyprecision"] = precision
    return prepared


def guid_of(value: Any) -> str | None:
    """The GUID in a lookup's value (``<guid>`` or ``uomschedules(<guid>)``)."""
    match = _GUID.search(str(value or ""))
    return match.group(0).lower() if match else None
