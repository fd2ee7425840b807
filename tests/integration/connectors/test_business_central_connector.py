"""The Business Central connector against MockTransport answers written from the API v2.0's documented behaviour."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest

from coupler.adapters.connectors.business_central import BusinessCentralConnector
from coupler.adapters.connectors.http_client import HttpClient, Pacer
from coupler.domain.errors import ConfigurationError
from coupler.domain.mapping import TableSpec
from coupler.domain.records import RecordUpdate

ROOT = "https://api.businesscentral.dynamics.com/v2.0/tenant/production/api/v2.0"
COMPANY = "6f1d0a2e-3c4b-4d5e-8f90-a1b2c3d4e5f6"
C1 = "0f8fad5b-d9cb-469f-a165-70867728950e"
SPEC = TableSpec(table="customers", key="id", modified_on="lastModifiedDateTime")
EDMX = b"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
 <edmx:DataServices><Schema Namespace="Microsoft.NAV" xmlns="http://docs.oasis-open.org/odata/ns/edm">
  <EntityType Name="customer"><Key><PropertyRef Name="id"/></Key>
   <Property Name="id" Type="Edm.Guid" Nullable="false"/>
   <Property Name="number" Type="Edm.String" MaxLength="20"/>
   <Property Name="displayName" Type="Edm.String" MaxLength="100" Nullable="false"/>
   <Property Name="creditLimit" Type="Edm.Decimal"/>
   <Property Name="lastModifiedDateTime" Type="Edm.DateTimeOffset"/>
  </EntityType>
  <EntityContainer Name="NAV"><EntitySet Name="customers" EntityType="Microsoft.NAV.customer"/></EntityContainer>
 </Schema></edmx:DataServices></edmx:Edmx>"""


def connector(handle: object) -> tuple[BusinessCentralConnector, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v2.0/tenant/production/api/v2.0/")
        if path == "$metadata":
            return httpx.Response(200, content=EDMX, headers={"Content-Type": "application/xml"})
        if path == "companies":
            return httpx.Response(
                200, json={"value": [{"id": COMPANY, "name": "CRONUS USA, Inc.", "displayName": "C"}]}
            )
        sent.append(request)
        return handle(request)  # type: ignore[operator, no-any-return]

    client = HttpClient(ROOT, system="ERP", transport=httpx.MockTransport(handler), pacer=Pacer(concurrency=5))
    return BusinessCentralConnector(client, company="CRONUS USA, Inc.", display_name="ERP"), sent


def test_describe_reads_the_edmx_metadata_and_bc_assigns_ids() -> None:
    bc, _ = connector(lambda r: httpx.Response(500))
    columns = bc.describe("customers")
    assert columns is not None and set(columns) == {
        "id",
        "number",
        "displayName",
        "creditLimit",
        "lastModifiedDateTime",
    }
    assert columns["id"].primary_key and columns["id"].type == "uuid"
    assert columns["displayName"].max_length == 100 and not columns["displayName"].nullable
    assert columns["creditLimit"].type == "decimal" and columns["creditLimit"].nullable
    assert bc.describe("vendors") is None
    assert bc.new_keys(SPEC, 2) is None and bc.assigns_keys(SPEC)
    assert bc.alternate_key(SPEC) == "number", "a created customer is found again by its number"
    assert bc.alternate_key(replace(SPEC, alternate_key="displayName")) == "displayName"


def test_an_unknown_company_names_the_known_ones() -> None:
    client = HttpClient(
        ROOT,
        system="ERP",
        transport=httpx.MockTransport(
            lambda r: httpx.Response(200, json={"value": [{"id": COMPANY, "name": "CRONUS"}]})
        ),
    )
    with pytest.raises(ConfigurationError, match="no company 'Fabrikam'; its companies are: 'CRONUS'"):
        BusinessCentralConnector(client, company="Fabrikam").ping()


def test_reads_go_under_the_company_and_case_insensitive_search_uses_tolower() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith(f"companies({COMPANY})/customers")
        assert request.url.params["$filter"] == "(tolower(displayName) eq 'adatum')"
        body = {
            "value": [
                {
                    "@odata.etag": 'W/"JzE7Jw=="',
                    "id": C1,
                    "displayName": "Adatum",
                    "lastModifiedDateTime": "2026-01-01T00:00:00Z",
                }
            ]
        }
        return httpx.Response(200, json=body)

    bc, _ = connector(handle)
    found = bc.find_any(SPEC, "displayName", ["ADATUM"], columns=["displayName"], case_sensitive=False)
    assert [(r.key, r.version) for r in found] == [(C1, 'W/"JzE7Jw=="')]


def test_writes_go_in_json_batches_of_at_most_100_with_if_match() -> None:
    batches: list[dict[str, object]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/$batch")
        body = json.loads(request.content)
        batches.append(body)
        responses = []
        for part in body["requests"]:
            if part["method"] == "POST":
                entity = {
                    **part["body"],
                    "id": C1,
                    "@odata.etag": 'W/"new"',
                    "lastModifiedDateTime": "2026-02-01T00:00:00Z",
                }
                responses.append({"id": part["id"], "status": 201, "body": entity})
            elif part["headers"]["If-Match"] == 'W/"old"':
                error = {"error": {"code": "Request_EntityChanged", "message": "Another user has modified the record."}}
                responses.append({"id": part["id"], "status": 412, "body": error})
            else:
                entity = {"id": C1, "@odata.etag": 'W/"2"', "lastModifiedDateTime": "2026-02-02T00:00:00Z"}
                responses.append({"id": part["id"], "status": 200, "body": entity})
        return httpx.Response(200, json={"responses": list(reversed(responses))})

    bc, _ = connector(handle)
    created = bc.insert(SPEC, [{"displayName": f"N{i}"} for i in range(150)])
    assert sorted(len(b["requests"]) for b in batches) == [50, 100]  # type: ignore[arg-type]
    batches.clear()
    assert len(bc.insert(SPEC, [{"displayName": f"M{i}"} for i in range(650)])) == 650
    assert sorted(len(b["requests"]) for b in batches) == [50] + [100] * 6  # type: ignore[arg-type]
    batches.clear()
    assert all(r.ok and r.key == C1 and r.version == 'W/"new"' for r in created)
    assert created[0].modified_on == datetime(2026, 2, 1, tzinfo=UTC)

    updated = bc.update(
        SPEC,
        [
            RecordUpdate(key=C1, values={"displayName": "X"}, version='W/"old"'),
            RecordUpdate(key=C1, values={"creditLimit": 5}),
        ],
    )
    part = batches[-1]["requests"][0]  # type: ignore[index]
    assert part["url"] == f"companies({COMPANY})/customers({C1})" and part["method"] == "PATCH"
    assert not updated[0].ok and updated[0].retryable and "Request_EntityChanged" in (updated[0].detail or "")
    assert updated[1].ok and updated[1].modified_on == datetime(2026, 2, 2, tzinfo=UTC)
    assert bc.deletions(SPEC, None) is None
