"""How the test servers expose SQLite tables: one entity set per table, named by the server's table config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["BcCompany", "BcTable", "DataverseTable"]


@dataclass(frozen=True, kw_only=True)
class DataverseTable:
    """A Dataverse table (entity set ``accounts`` -> ``DataverseTable(table="account", key="accountid")``).

    ``table`` is both the SQLite table and the logical name. A lookup column holds the target's GUID in SQLite;
    the Web API reads it as ``_<name>_value`` and writes it with ``<name>@odata.bind`` (or
    ``<name>_<target>@odata.bind`` when it has several targets, like ``parentcustomerid``)."""

    table: str
    key: str
    modified_on: str = "modifiedon"
    primary_name: str | None = None
    lookups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Lookup column -> target entity sets (``{"ownerid": ("systemusers",)}``)."""
    attribute_types: Mapping[str, str] = field(default_factory=dict)
    """AttributeType overrides for the metadata (``{"statecode": "State", "creditlimit": "Money"}``)."""
    booleans: frozenset[str] = frozenset()
    """Integer columns holding 0/1 that the Web API shows as JSON booleans."""
    change_tracking: bool = True
    navigation: Mapping[str, str] = field(default_factory=dict)
    """Navigation property names that are not the lookup's own name (or ``<lookup>_<target>`` for a lookup with
    several targets): a custom lookup's is its SchemaName, ``{"bcbi_companyid": "bcbi_CompanyId"}``. They are
    case-sensitive, as the Web API's are."""
    create_multiple: bool = True
    """Whether the table supports CreateMultiple / UpdateMultiple / UpsertMultiple (``sdkmessagefilters``)."""
    lenient: bool = False
    """Skip the Dataverse table rules of ``dataverse/rules.py`` (required product units, Draft products, currency
    ranges): only for the demo, whose tables predate them."""


@dataclass(frozen=True, kw_only=True)
class BcTable:
    """A Business Central API entity (entity set ``customers`` -> ``BcTable(table="customers",
    entity_type="customer")``)."""

    table: str
    entity_type: str
    key: str = "id"
    modified_on: str = "lastModifiedDateTime"
    booleans: frozenset[str] = frozenset()
    edm_types: Mapping[str, str] = field(default_factory=dict)
    """Edm type overrides for ``$metadata`` (``{"creditLimit": "Edm.Decimal"}``)."""
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Columns of an AL enum -> its members as AL spells them (``{"blocked": (" ", "Ship", "Invoice", "All")}``):
    an ``EnumType`` in ``$metadata`` (``customerBlocked``), values encoded on the wire (``_x0020_``), the blank member
    stored as '' (see ``business_central/values.py``)."""
    read_only: bool = False
    """The API page allows no insert, modify or delete (``InsertAllowed/ModifyAllowed/DeleteAllowed = false``:
    ``currencyExchangeRates``, ``generalLedgerSetup``): every write is refused."""


@dataclass(frozen=True, kw_only=True)
class BcCompany:
    id: str
    name: str
    display_name: str = ""
