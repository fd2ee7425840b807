"""A choice column's options as a table: ``account.paymenttermscode`` has one record per option, key ``value``
(the option's integer as text), columns ``value`` and ``label`` (the label in the user's language), as Business
Central's PAYMENT TERMS and SHIPMENT METHOD mappings couple a code table to an option set (BCApps
``CDSIntOptionCouple.Codeunit.al``, ``IntOptionSynchInvoke.Codeunit.al``).

The options are read from the attribute's metadata (``PicklistAttributeMetadata`` with ``$expand=OptionSet``),
added with the ``InsertOptionValue`` action and relabelled with ``UpdateOptionValue``
(learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/insertoptionvalue, .../updateoptionvalue),
the label in the organization's ``languagecode``. Options have no modified-on: every read answers them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from coupler.adapters.connectors.http_client import HttpClient, error_message
from coupler.adapters.connectors.odata.entity import EntityInfo
from coupler.adapters.connectors.odata.query import literal
from coupler.domain.errors import PermanentConnectorError
from coupler.domain.mapping import TableSpec, matches_all
from coupler.domain.records import Record, RecordUpdate, WriteResult
from coupler.ports.connector import ColumnInfo

__all__ = ["OptionSetTable", "is_option_set", "option_set_entity"]

_COLUMNS = {
    "value": ColumnInfo(name="value", type="string", nullable=False, primary_key=True),
    "label": ColumnInfo(name="label", type="string", nullable=False),
}


def is_option_set(table: str) -> bool:
    """``account.paymenttermscode``: a table named ``<entity logical name>.<attribute>``."""
    entity, dot, attribute = table.partition(".")
    return bool(dot and entity and attribute)


def option_set_entity(table: str) -> EntityInfo:
    """A choice column as a table: Dataverse numbers a new choice itself (``InsertOptionValue`` answers its value)."""
    return EntityInfo(entity_set=table, key="value", columns=dict(_COLUMNS), type_name=table, server_keys=True)


class OptionSetTable:
    """The options of one choice column; ``language`` gives the organization's language code (asked once)."""

    def __init__(self, client: HttpClient, table: str, *, display_name: str, language: Callable[[], int]) -> None:
        self.client = client
        self.table = table
        self.entity, _, self.attribute = table.partition(".")
        self.display_name = display_name
        self._language = language

    # reads -------------------------------------------------------------------------------------------------
    def records(self, spec: TableSpec, columns: Sequence[str]) -> list[Record]:
        path = (
            f"EntityDefinitions(LogicalName={literal(self.entity)})/Attributes(LogicalName={literal(self.attribute)})"
            "/Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
        )
        params = {"$select": "LogicalName", "$expand": "OptionSet"}
        answer = self.client.get_json(path, params=params, what=f"reading the choices of {self.table}")
        options = ((answer.get("OptionSet") or {}).get("Options") or []) if isinstance(answer, dict) else []
        found = []
        for option in options:
            values = {"value": str(option.get("Value")), "label": _label(option.get("Label"))}
            if matches_all(spec.filter, values):
                found.append(Record(key=values["value"], modified_on=None, values={c: values[c] for c in columns}))
        return sorted(found, key=lambda r: int(r.key))

    def find(self, spec: TableSpec, criteria: Mapping[str, Any], columns: Sequence[str], limit: int) -> list[Record]:
        """Labels compare case-insensitively, as Business Central matches a code with a label
        (``CDSIntOptionCouple``: ``SetFilter(..., '@' + code)``)."""
        every = self.records(spec, [*columns, *criteria])
        found = [r for r in every if all(_same(n, r.values.get(n), v) for n, v in criteria.items())]
        return [_only(r, columns) for r in found[:limit]]

    # writes ------------------------------------------------------------------------------------------------
    def insert(self, rows: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        results = []
        for index, row in enumerate(rows):
            label = str(row.get("label") or "").strip()
            if not label:
                results.append(WriteResult(index=index, error=f"a choice of {self.table} needs a label"))
                continue
            body: dict[str, Any] = {**self._target(), "Label": self._label_body(label)}
            if row.get("value") not in (None, ""):
                body["Value"] = int(row["value"])
            response = self.client.request("POST", "InsertOptionValue", json=body, what=self._what("adding"))
            if not response.is_success:
                results.append(WriteResult(index=index, error=self._error(response)))
                continue
            results.append(WriteResult(index=index, key=str(response.json().get("NewOptionValue"))))
        return results

    def update(self, updates: Sequence[RecordUpdate]) -> list[WriteResult]:
        results = []
        for index, update in enumerate(updates):
            if set(update.values) - {"label", "value"} or str(update.values.get("value", update.key)) != update.key:
                results.append(WriteResult(index=index, key=update.key, error="only a choice's label can change"))
                continue
            if "label" not in update.values:
                results.append(WriteResult(index=index, key=update.key))
                continue
            body = {
                **self._target(),
                "Value": int(update.key),
                "Label": self._label_body(str(update.values["label"])),
                "MergeLabels": True,
            }
            response = self.client.request("POST", "UpdateOptionValue", json=body, what=self._what("relabelling"))
            error = None if response.is_success else self._error(response)
            results.append(WriteResult(index=index, key=update.key, error=error))
        return results

    def delete(self, keys: Sequence[str]) -> list[WriteResult]:
        message = (
            f"coupler does not delete choices of {self.table} in {self.display_name}: records of other tables may "
            "still hold them. Remove the choice in the column's settings if it is no longer used."
        )
        return [WriteResult(index=i, key=key, error=message) for i, key in enumerate(keys)]

    # internals ---------------------------------------------------------------------------------------------
    def _target(self) -> dict[str, Any]:
        return {"EntityLogicalName": self.entity, "AttributeLogicalName": self.attribute}

    def _label_body(self, text: str) -> dict[str, Any]:
        return {"LocalizedLabels": [{"Label": text, "LanguageCode": self._language()}]}

    def _what(self, verb: str) -> str:
        return f"{verb} a choice of {self.table}"

    def _error(self, response: Any) -> str:
        if response.status_code >= 500:
            raise PermanentConnectorError(f"{self.display_name}: {response.status_code} {error_message(response)}")
        return f"{error_message(response)} ({self.display_name}, {response.status_code})"


def _label(label: Any) -> str:
    if not isinstance(label, dict):
        return ""
    user = label.get("UserLocalizedLabel")
    if isinstance(user, dict) and user.get("Label") is not None:
        return str(user["Label"])
    localized = label.get("LocalizedLabels") or []
    return str(localized[0].get("Label") or "") if localized else ""


def _same(name: str, actual: Any, wanted: Any) -> bool:
    if wanted is None:
        return actual is None
    if name == "label":
        return str(actual or "").casefold() == str(wanted).casefold()
    return str(actual) == str(wanted)


def _only(record: Record, columns: Sequence[str]) -> Record:
    return Record(key=record.key, modified_on=None, values={c: record.values.get(c) for c in columns})
