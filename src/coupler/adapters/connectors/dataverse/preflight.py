"""The preflight of a Dataverse environment, one finding a line in an administrator's words: who coupler signs in
as, the base currency, how new products start, which tables take CreateMultiple, and whether Business Central's
Dataverse base solution (the ``bcbi_company`` table) is installed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from coupler.adapters.connectors.dataverse.option_sets import is_option_set
from coupler.adapters.connectors.http_client import HttpClient
from coupler.adapters.connectors.odata.entity import EntityInfo
from coupler.adapters.connectors.odata.query import literal
from coupler.domain.errors import CouplerError
from coupler.ports.connector import Finding


class DataverseConnector(Protocol):
    """What the checks read of the connector (``connector.py`` calls them with itself)."""

    display_name: str
    client: HttpClient

    def app_user_id(self) -> str: ...

    def organization(self) -> Mapping[str, Any]: ...

    def _known_json(self, path: str, *, what: str, params: Mapping[str, str] | None = None) -> Any: ...

    def _entity_or_none(self, table: str) -> EntityInfo | None: ...

    def _supports_create_multiple(self, entity: EntityInfo) -> bool | None: ...


__all__ = ["findings"]


def findings(connector: DataverseConnector, tables: Mapping[str, Sequence[str]]) -> list[Finding]:
    found = [_sign_in(connector)]
    organization: Any = {}
    try:
        organization = connector.organization()
    except CouplerError as error:
        found.append(Finding(topic="organization", ok=False, message=f"The organization cannot be read: {error}"))
    if organization:
        found.append(_base_currency(connector, organization))
        found.append(_products(organization))
    if "uomschedules" in tables:
        found.append(_unit_groups(connector))
    found.extend(_create_multiple(connector, table) for table in tables if not is_option_set(table))
    found.append(_companies(connector, needed=any("bcbi_companyid" in columns for columns in tables.values())))
    return found


def _sign_in(connector: DataverseConnector) -> Finding:
    topic = "sign-in"
    try:
        me = connector.app_user_id()
        user = connector._known_json(
            f"systemusers({me})",
            params={"$select": "fullname,isdisabled,applicationid"},
            what="reading the user coupler signs in as",
        )
    except CouplerError as error:
        return Finding(
            topic=topic,
            ok=False,
            message=f"coupler cannot sign in to {connector.display_name}: {error}",
            advice="Check the environment URL, the app registration's client id and secret, and that an "
            "application user exists for it in the environment (Power Platform admin center, Settings, Users, "
            "App users).",
        )
    name = user.get("fullname") or me
    if user.get("isdisabled"):
        return Finding(
            topic=topic,
            ok=False,
            message=f"coupler signs in as '{name}', a disabled user.",
            advice="Enable the application user in the Power Platform admin center (Settings, Users, App users).",
        )
    if not user.get("applicationid"):
        return Finding(
            topic=topic,
            ok=False,
            message=f"coupler signs in as '{name}', a person, not an application user.",
            advice="Create an application user for coupler's app registration and give it a security role; sign "
            "in with its client id and secret.",
        )
    return Finding(topic=topic, ok=True, message=f"Signed in as the application user '{name}' (enabled).")


def _base_currency(connector: DataverseConnector, organization: Any) -> Finding:
    topic = "base currency"
    base = organization.get("_basecurrencyid_value")
    precision = organization.get("currencydecimalprecision")
    try:
        currency = connector._known_json(
            f"transactioncurrencies({base})",
            params={"$select": "isocurrencycode,currencyname"},
            what="reading the base currency",
        )
    except CouplerError as error:
        return Finding(topic=topic, ok=False, message=f"The base currency cannot be read: {error}")
    return Finding(
        topic=topic,
        ok=True,
        message=f"Base currency {currency.get('isocurrencycode')} ({currency.get('currencyname')}); new "
        f"currencies get the precision {precision}.",
        advice="Business Central pairs its local currency with the currency of the same ISO code.",
    )


def _unit_groups(connector: DataverseConnector) -> Finding:
    """The unit groups Business Central's way, 'NAV <code>' (CRMSynchHelper.GetValidCRMUnitOfMeasureRecords)."""
    topic = "unit groups"
    try:
        answer = connector.client.get_json(
            "uomschedules",
            params={"$select": "name,baseuomname", "$filter": "startswith(name,'NAV ') and statecode eq 0"},
            what="reading the unit groups",
        )
    except CouplerError as error:
        return Finding(topic=topic, ok=False, message=f"The unit groups cannot be read: {error}")
    named = sorted(str(r.get("name")) for r in (answer.get("value") or []))
    message = (
        f"Unit groups as Business Central names them: {', '.join(named)}; UNIT OF MEASURE creates the others."
        if named
        else "No unit group is named as Business Central names them ('NAV <code>'); UNIT OF MEASURE creates them."
    )
    return Finding(topic=topic, ok=True, message=message)


def _products(organization: Any) -> Finding:
    if organization.get("createproductswithoutparentinactivestate"):
        return Finding(topic="products", ok=True, message="New products start Active.")
    return Finding(
        topic="products",
        ok=True,
        message="New products start as Draft; coupler activates each product it creates, as Business Central does.",
    )


def _create_multiple(connector: DataverseConnector, table: str) -> Finding:
    topic = f"CreateMultiple {table}"
    try:
        entity = connector._entity_or_none(table)
        supported = None if entity is None else connector._supports_create_multiple(entity)
    except CouplerError as error:
        return Finding(topic=topic, ok=False, message=f"{table} cannot be read: {error}")
    if entity is None:
        return Finding(topic=topic, ok=False, message=f"There is no table {table} in {connector.display_name}.")
    if supported is None:
        return Finding(
            topic=topic,
            ok=True,
            message=f"{table}: the environment does not say whether it has "
            "CreateMultiple; coupler tries it and falls back to $batch.",
        )
    how = "in CreateMultiple requests" if supported else "in $batch requests (the table has no CreateMultiple)"
    return Finding(topic=topic, ok=True, message=f"New {table} records are created {how}.")


def _companies(connector: DataverseConnector, *, needed: bool) -> Finding:
    topic = "bcbi_company"
    try:
        answer = connector._known_json(
            "EntityDefinitions",
            params={"$filter": f"LogicalName eq {literal('bcbi_company')}", "$select": "LogicalName,EntitySetName"},
            what="looking for Business Central's company table",
        )
    except CouplerError as error:
        return Finding(topic=topic, ok=False, message=f"The table list cannot be read: {error}")
    if answer.get("value"):
        return _company_rows(connector, str(answer["value"][0].get("EntitySetName") or "bcbi_companies"))
    return Finding(
        topic=topic,
        ok=not needed,
        message="Business Central's company table (bcbi_company) is missing: Business Central's Dataverse base "
        "solution (bcbi_CdsBaseIntegration) is not installed.",
        advice="Records are not filtered or stamped by company. For several companies, connect Business Central "
        "to this environment once (Dataverse Connection Setup), which installs the solution.",
    )


def _company_rows(connector: DataverseConnector, entity_set: str) -> Finding:
    """The Business Central companies this environment knows, with the id a configuration per company names
    (``coupler init --dataverse-company``)."""
    topic = "bcbi_company"
    try:
        answer = connector.client.get_json(
            entity_set, params={"$select": "bcbi_name,bcbi_companyid"}, what="reading Business Central's companies"
        )
    except CouplerError as error:
        return Finding(topic=topic, ok=False, message=f"Business Central's companies cannot be read: {error}")
    rows = answer.get("value") or [] if isinstance(answer, dict) else []
    named = ", ".join(f"{r.get('bcbi_name')} ({r.get('bcbi_companyid')})" for r in rows) or "none yet"
    return Finding(
        topic=topic,
        ok=True,
        message=f"Business Central's company table (bcbi_company) is installed; its companies: {named}.",
    )
