"""How values travel in the Business Central server, as strictly as the real API v2.0 on two points.

Enums. A column of an AL enum (``BcTable.enums``) is an ``EnumType`` in ``$metadata`` and travels as its member's
name encoded as an identifier: the blank member " " is ``_x0020_``, "Non-Inventory" ``Non_x002D_Inventory``
(learn.microsoft.com/dynamics365/business-central/power-bi-faq, "I see some values like _x0020_"; the example
payloads of MicrosoftDocs/dynamics365smb-devitpro-pb,
``dev-itpro/api-reference/v2.0/api/dynamics_itemledgerentry_get.md``; docs/research/bc-sales-sources.md, "Point 1").
Rows are served encoded; a body or a ``$filter`` literal must hold an encoded member name, which is translated to
the stored value before the write or the query runs. The database holds the member's name, the blank member as ''
(as the demo's erp.db does). Anything else is a 400 with Microsoft.OData's message for an unknown member, "The
string '...' is not a valid enumeration type constant." (the library Business Central's OData layer is built on;
OData/AspNetCoreOData#1375 shows it). Business Central's own wording is not documented.

Null. AL fields have no null, and no Microsoft page says how the service answers ``field eq null``
(docs/research/bc-sales-sources.md, "Point 9": not found). The server refuses every ``null`` in ``$filter`` with a
400: the conservative choice, so that a client that passes here sends nothing the real service may refuse or read
differently. The real answer must still be observed on a tenant.
"""

from __future__ import annotations

from typing import Any

from odata_query import ast
from odata_query.visitor import NodeTransformer

from coupler.adapters.connectors.odata.enums import decode_name, encode_name
from coupler.testing.odata.http import ODataError
from coupler.testing.odata.tables import BcTable

__all__ = ["StrictFilter", "enum_type_name", "served", "stored"]


def enum_type_name(entity: BcTable, column: str) -> str:
    """The ``EnumType`` of an enum column, named as Business Central names it: ``customerBlocked``, ``itemType``."""
    return entity.entity_type + column[:1].upper() + column[1:]


def served(entity: BcTable, column: str, value: Any) -> Any:
    """A stored value as the API sends it: an enum's member name encoded ('' is the blank member, ``_x0020_``)."""
    if column not in entity.enums or value is None:
        return value
    text = str(value)
    if text == "":
        text = next((m for m in entity.enums[column] if not m.strip()), text)
    return encode_name(text)


def stored(entity: BcTable, column: str, wire: Any) -> Any:
    """The stored value of an encoded member name the client sent; 400 for anything that names no member."""
    if column not in entity.enums:
        return wire
    members = entity.enums[column]
    if isinstance(wire, str) and wire in {encode_name(m) for m in members}:
        member = decode_name(wire)
        return "" if not member.strip() else member
    raise ODataError(400, "BadRequest", f"The string '{wire}' is not a valid enumeration type constant.")


class StrictFilter(NodeTransformer):
    """A ``$filter`` tree made ready to run: enum literals translated to stored values, ``null`` refused."""

    def __init__(self, entity: BcTable) -> None:
        self._entity = entity

    def visit_Null(self, node: ast.Null) -> ast._Node:
        raise ODataError(
            400,
            "BadRequest",
            "Business Central fields have no null value: filter on the blank value ('', "
            "00000000-0000-0000-0000-000000000000 or the enum's _x0020_) instead. (coupler's test server refuses "
            "null in $filter; the real service's answer is not documented.)",
        )

    def visit_Compare(self, node: ast.Compare) -> ast._Node:
        left, right = node.left, node.right
        if isinstance(left, ast.Identifier) and left.name in self._entity.enums:
            right = self._literal(left.name, right)
        elif isinstance(right, ast.Identifier) and right.name in self._entity.enums:
            left = self._literal(right.name, left)
        return ast.Compare(node.comparator, self.visit(left), self.visit(right))

    def _literal(self, column: str, node: ast._Node) -> ast._Node:
        if isinstance(node, ast.String):
            return ast.String(str(stored(self._entity, column, node.val)))
        if isinstance(node, ast.List):
            return ast.List([self._literal(column, item) for item in node.val])  # type: ignore[misc]
        return node
