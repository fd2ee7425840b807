"""Business Central's ``$metadata``: an EDMX document with an EntityType (key, properties with Type, MaxLength,
Nullable) and an EntitySet per served entity, and an EnumType per enum column (``<EnumType Name="customerBlocked">
<Member Name="_x0020_" Value="0"/>...``, its property typed ``Microsoft.NAV.customerBlocked``: the API reference
types ``customers.blocked`` as ``NAV.customerBlocked``, MicrosoftDocs/dynamics365smb-devitpro-pb
``dev-itpro/api-reference/v2.0/resources/dynamics_customer.md``; member names encoded as the values are, see
``values.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

from coupler.adapters.connectors.odata.enums import encode_name
from coupler.testing.business_central.values import enum_type_name
from coupler.testing.odata.http import Request, Response

if TYPE_CHECKING:
    from coupler.testing.business_central.ops import BusinessCentralOps

__all__ = ["handle"]

_EDM = {"string": "Edm.String", "integer": "Edm.Int32", "real": "Edm.Decimal"}


def handle(server: BusinessCentralOps, request: Request) -> Response:
    types = [
        '<EntityType Name="company"><Key><PropertyRef Name="id"/></Key>'
        '<Property Name="id" Type="Edm.Guid" Nullable="false"/>'
        '<Property Name="name" Type="Edm.String" MaxLength="30"/>'
        '<Property Name="displayName" Type="Edm.String" MaxLength="250"/></EntityType>'
    ]
    sets = ['<EntitySet Name="companies" EntityType="Microsoft.NAV.company"/>']
    for entity in server.tables.values():
        for enum_column, members in entity.enums.items():
            declared = "".join(
                f"<Member Name={quoteattr(encode_name(member))} Value={quoteattr(str(value))}/>"
                for value, member in enumerate(members)
            )
            types.append(f"<EnumType Name={quoteattr(enum_type_name(entity, enum_column))}>{declared}</EnumType>")
    for name, entity in server.tables.items():
        meta = server.store.tables[entity.table]
        properties = []
        for column in meta.columns.values():
            edm = _EDM[column.kind]
            if column.primary_key:
                edm = "Edm.Guid"
            elif column.name == meta.modified_on:
                edm = "Edm.DateTimeOffset"
            elif column.name in entity.booleans:
                edm = "Edm.Boolean"
            elif column.name in entity.enums:
                edm = "Microsoft.NAV." + enum_type_name(entity, column.name)
            edm = entity.edm_types.get(column.name, edm)
            attributes = f"Name={quoteattr(column.name)} Type={quoteattr(edm)}"
            if edm == "Edm.String" and column.max_length is not None:
                attributes += f' MaxLength="{column.max_length}"'
            if not column.nullable:
                attributes += ' Nullable="false"'
            properties.append(f"<Property {attributes}/>")
        types.append(
            f"<EntityType Name={quoteattr(entity.entity_type)}><Key><PropertyRef Name={quoteattr(meta.key)}/></Key>"
            + "".join(properties)
            + "</EntityType>"
        )
        sets.append(
            f"<EntitySet Name={quoteattr(name)} EntityType={quoteattr('Microsoft.NAV.' + entity.entity_type)}/>"
        )
    document = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>'
        '<Schema Namespace="Microsoft.NAV" xmlns="http://docs.oasis-open.org/odata/ns/edm">'
        + "".join(types)
        + '<EntityContainer Name="NAV">'
        + "".join(sets)
        + "</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"
    )
    return Response(status=200, body=document.encode(), headers={"content-type": "application/xml"})
