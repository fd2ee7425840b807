"""What a connector learns about its service's schema is kept in the state store per connection: a second connector
(another process) on the same store asks nothing again; a refusal that shows the schema changed forgets it, here and
in the store. Against MockTransport answers of Business Central's API v2.0 and Dataverse's Web API."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from coupler.adapters.connectors.business_central import BusinessCentralConnector
from coupler.adapters.connectors.dataverse import API_PATH, DataverseConnector
from coupler.adapters.connectors.http_client import HttpClient
from coupler.adapters.connectors.odata.stale import stale_schema
from coupler.adapters.store import InMemoryStateStore
from coupler.adapters.store.kept_metadata import StoredMetadata
from coupler.domain.errors import ConfigurationError, PermanentConnectorError
from coupler.domain.mapping import TableSpec
from coupler.domain.records import RecordUpdate
from coupler.ports.metadata import KeepsMetadata
from coupler.ports.store import StateStore

ROOT = "https://api.businesscentral.dynamics.com/v2.0/tenant/production/api/v2.0"
COMPANY = "6f1d0a2e-3c4b-4d5e-8f90-a1b2c3d4e5f6"
C1 = "0f8fad5b-d9cb-469f-a165-70867728950e"
CONNECTION = f"business-central {ROOT} company=CRONUS USA, Inc. as=client"
SPEC = TableSpec(table="customers", key="id", modified_on="lastModifiedDateTime")
UNKNOWN = {"error": {"code": "BadRequest", "message": "Could not find a property named 'website' on type 'customer'."}}


def edmx(website: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
 <edmx:DataServices><Schema Namespace="Microsoft.NAV" xmlns="http://docs.oasis-open.org/odata/ns/edm">
  <EntityType Name="customer"><Key><PropertyRef Name="id"/></Key>
   <Property Name="id" Type="Edm.Guid" Nullable="false"/>
   <Property Name="displayName" Type="Edm.String" MaxLength="100"/>
   <Property Name="{website}" Type="Edm.String" MaxLength="80"/>
   <Property Name="lastModifiedDateTime" Type="Edm.DateTimeOffset"/>
  </EntityType>
  <EntityContainer Name="NAV"><EntitySet Name="customers" EntityType="Microsoft.NAV.customer"/></EntityContainer>
 </Schema></edmx:DataServices></edmx:Edmx>""".encode()


@dataclass
class BusinessCentral:
    """Answers $metadata and companies, and reads and $batch writes of customers; ``website`` is the column's name
    now (a rename on the server refuses the old name as Business Central does)."""

    website: str = "website"
    asked: Counter[str] = field(default_factory=Counter)
    handle: Callable[[httpx.Request], httpx.Response] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v2.0/tenant/production/api/v2.0/")
        self.asked[path.rsplit("/", 1)[-1]] += 1
        if path == "$metadata":
            return httpx.Response(200, content=edmx(self.website), headers={"Content-Type": "application/xml"})
        if path == "companies":
            return httpx.Response(200, json={"value": [{"id": COMPANY, "name": "CRONUS USA, Inc."}]})
        if self.handle is not None:
            return self.handle(request)
        if self.website not in request.url.params.get("$select", self.website):
            return httpx.Response(400, json=UNKNOWN)
        return httpx.Response(200, json={"value": [{"id": C1, "displayName": "Adatum", self.website: "x"}]})

    def metadata_asked(self) -> int:
        return self.asked["$metadata"] + self.asked["companies"]


def business_central(service: BusinessCentral, store: StateStore) -> BusinessCentralConnector:
    client = HttpClient(ROOT, system="ERP", transport=httpx.MockTransport(service))
    bc = BusinessCentralConnector(client, company="CRONUS USA, Inc.", display_name="ERP")
    assert isinstance(bc, KeepsMetadata)
    bc.metadata = StoredMetadata(store.metadata, CONNECTION)
    return bc


def read_all(bc: BusinessCentralConnector, website: str = "website") -> list[str]:
    pages = bc.changed_since(SPEC, None, columns=["displayName", website], page_size=100)
    return [record.key for page in pages for record in page]


def test_a_second_connector_on_the_same_store_asks_nothing_about_the_schema() -> None:
    store, service = InMemoryStateStore(), BusinessCentral()
    assert read_all(business_central(service, store)) == [C1]
    assert service.asked["$metadata"] == service.asked["companies"] == 1
    assert {e.key for e in store.metadata.entries(CONNECTION)} == {"GET $metadata application/xml", "GET companies"}

    service.asked.clear()
    second = business_central(service, store)
    assert second.describe("customers") is not None and read_all(second) == [C1]
    assert service.asked == Counter({"customers": 1}), "the schema and the company come from the store"


def test_a_refusal_naming_an_unknown_property_forgets_what_was_learnt_and_the_retry_reads_it_again() -> None:
    store, service = InMemoryStateStore(), BusinessCentral()
    bc = business_central(service, store)
    read_all(bc)
    service.website = "homePage"  # renamed on the server; the kept $metadata still says website

    with pytest.raises(PermanentConnectorError, match="Could not find a property named 'website'"):
        read_all(business_central(service, store))
    assert store.metadata.entries(CONNECTION) == [], "the next process asks again"

    service.asked.clear()
    again = business_central(service, store)
    with pytest.raises(ConfigurationError, match="has no column 'website'"):
        read_all(again)  # told in the user's words, before any request of records
    assert read_all(again, "homePage") == [C1]
    assert service.metadata_asked() == 2


def test_the_same_connector_reads_the_schema_again_after_the_refusal_but_only_once() -> None:
    store, service = InMemoryStateStore(), BusinessCentral()
    bc = business_central(service, store)
    read_all(bc)
    service.website = "homePage"
    with pytest.raises(PermanentConnectorError):
        read_all(bc)
    service.asked.clear()
    with pytest.raises(ConfigurationError, match="has no column 'website'"):
        read_all(bc)
    assert service.asked == Counter({"$metadata": 1}), "the retry asked again, and refused it before sending it"

    service.website = "website"
    service.handle = lambda request: httpx.Response(400, json=UNKNOWN)  # refused although the schema says it exists
    with pytest.raises(PermanentConnectorError):
        read_all(bc, "homePage")
    service.asked.clear()
    with pytest.raises(PermanentConnectorError):
        read_all(bc, "homePage")
    assert service.metadata_asked() == 0, "a schema just read is not stale: no second refresh"


def test_a_write_refused_for_a_gone_record_keeps_the_schema() -> None:
    store, service = InMemoryStateStore(), BusinessCentral()
    bc = business_central(service, store)
    read_all(bc)

    def gone(request: httpx.Request) -> httpx.Response:
        parts = json.loads(request.content)["requests"]
        missing = {"error": {"code": "BadRequest_NotFound", "message": "The Customer does not exist."}}
        return httpx.Response(200, json={"responses": [{"id": p["id"], "status": 404, "body": missing} for p in parts]})

    service.handle = gone
    [result] = bc.update(SPEC, [RecordUpdate(key=C1, values={"displayName": "Adatum Corp."})])
    assert not result.ok
    assert len(store.metadata.entries(CONNECTION)) == 2


def test_a_batch_part_refused_for_an_undeclared_property_forgets_the_schema() -> None:
    """Dataverse: a PATCH in a $batch naming a property the table no longer has."""
    store = InMemoryStateStore()
    asked: Counter[str] = Counter()
    attributes = [
        {"LogicalName": "accountid", "AttributeType": "Uniqueidentifier", "IsPrimaryId": True},
        {"LogicalName": "name", "AttributeType": "String", "MaxLength": 160},
        {"LogicalName": "modifiedon", "AttributeType": "DateTime"},
    ]

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(API_PATH)
        asked[path] += 1
        if path == "EntityDefinitions":
            return httpx.Response(200, json={"value": [{"LogicalName": "account", "PrimaryIdAttribute": "accountid"}]})
        if path.endswith("/Attributes"):
            return httpx.Response(200, json={"value": attributes})
        assert path == "$batch"
        refused = json.dumps({"error": {"code": "0x80060888", "message": "An undeclared property 'name' was found."}})
        boundary = "batchresponse_1"
        body = (
            f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            f"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n{refused}\r\n--{boundary}--\r\n"
        )
        return httpx.Response(200, content=body, headers={"Content-Type": f"multipart/mixed; boundary={boundary}"})

    client = HttpClient("https://org.example" + API_PATH, system="Sales", transport=httpx.MockTransport(handle))
    dv = DataverseConnector(client, display_name="Sales")
    dv.metadata = StoredMetadata(store.metadata, "dataverse https://org.example client=c")
    spec = TableSpec(table="accounts", key="accountid", modified_on="modifiedon")
    [result] = dv.update(spec, [RecordUpdate(key=C1, values={"name": "Adatum"})])

    assert not result.ok and "undeclared property" in (result.error or "")
    assert store.metadata.entries("dataverse https://org.example client=c") == []
    assert dv.describe("accounts") is not None
    assert asked["EntityDefinitions"] == 2, "read again after the refusal"


@pytest.mark.parametrize(
    ("method", "path", "status", "message", "stale"),
    [
        ("GET", "accounts?$select=name", 400, "Could not find a property named 'name' on type 'account'.", True),
        ("POST", "accounts", 400, "An undeclared property 'x' which only has property annotations was found.", True),
        ("GET", "accounts", 400, "The value of 'name' is too long.", False),
        ("GET", "accounts", 404, "Resource not found for the segment 'accounts'.", True),
        ("GET", "companies(1)/customers", 404, "", True),
        ("PATCH", "accounts(1)", 404, "Does not exist", False),
        ("GET", "companies(1)/customers(2)/contactsInformation", 404, "", False),
        ("POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", 404, "", False),
        ("POST", "$batch", 404, "", False),
        ("GET", "accounts", 403, "Could not find a property named", False),
    ],
)
def test_what_shows_a_stale_schema(method: str, path: str, status: int, message: str, stale: bool) -> None:
    assert stale_schema(method, path, status, message) is stale


def test_a_ping_reaches_the_service_whatever_is_kept() -> None:
    """The web app's banner and `coupler check` ask whether the system answers: a kept company id is no answer."""
    store, service = InMemoryStateStore(), BusinessCentral()
    service.handle = lambda request: httpx.Response(200, json={"id": COMPANY})
    business_central(service, store).ping()
    service.asked.clear()
    second = business_central(service, store)
    second.ping()
    assert service.asked == Counter({f"companies({COMPANY})": 1})
    service.handle = lambda request: httpx.Response(401, json={"error": {"code": "Unauthorized", "message": "no"}})
    with pytest.raises(PermanentConnectorError):
        second.ping()
