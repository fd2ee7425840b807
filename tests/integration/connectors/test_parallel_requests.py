"""Requests in parallel up to what each service allows: the test servers count what is in flight (``ServiceModel``),
the connectors spread one batch of records over that many requests, answer in the order of the records, and a 429
stops every sender of the system."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from coupler.adapters.connectors.business_central import HEADERS as BC_HEADERS
from coupler.adapters.connectors.business_central import BusinessCentralConnector
from coupler.adapters.connectors.dataverse import API_PATH, HEADERS, DataverseConnector
from coupler.adapters.connectors.http_client import HttpClient, Pacer
from coupler.demo import DemoResult, create_demo
from coupler.domain.mapping import TableSpec
from coupler.domain.records import RecordUpdate
from coupler.testing import ServiceModel, business_central_app, dataverse_app, serve
from coupler.testing.demo import DEMO_BC_TABLES, DEMO_COMPANY
from coupler.testing.tenant.dataverse import DataverseTenant, dataverse_tenant

ACCOUNTS = TableSpec(table="accounts", key="accountid", modified_on="modifiedon")
CUSTOMERS = TableSpec(table="customers", key="id", modified_on="lastModifiedDateTime")


@pytest.fixture
def tenant(tmp_path: Path) -> DataverseTenant:
    return dataverse_tenant(tmp_path / "dataverse.db")


def dataverse(
    tenant: DataverseTenant, model: ServiceModel, *, concurrency: int = 52, batch_size: int = 50
) -> Iterator[DataverseConnector]:
    """A connector whose requests carry ``batch_size`` records (requests go out full: a call of N records sends
    N / batch_size of them side by side)."""
    app = dataverse_app(tenant.db_url, tables=tenant.tables, app_user_id=tenant.app_user_id, model=model)
    with serve(app) as url:
        client = HttpClient(url + API_PATH, system="Sales", headers=HEADERS, pacer=Pacer(concurrency=concurrency))
        connector = DataverseConnector(client, display_name="Sales", batch_size=batch_size)
        try:
            yield connector
        finally:
            connector.close()


def test_dataverse_creates_in_parallel_up_to_the_recommended_degree_in_the_order_of_the_rows(
    tenant: DataverseTenant,
) -> None:
    model = ServiceModel.dataverse(per_request=0.05, dop_hint=4)
    for connector in dataverse(tenant, model):
        connector.ping()  # the first answer carries x-ms-dop-hint
        assert connector.client.concurrency == 4, "min(52, the hint)"
        rows = [{"name": f"Parallel Traders {i:03}", "accountnumber": f"P{i:03}"} for i in range(400)]
        model.reset()
        results = connector.insert(ACCOUNTS, rows)
        assert all(r.ok for r in results) and [r.index for r in results] == list(range(400))
        assert 1 < model.peak_in_flight <= 4, "more than one request at once, never more than recommended"
        assert not model.refused
        read = {
            r.key: r.values["name"] for r in connector.read(ACCOUNTS, [r.key or "" for r in results], columns=["name"])
        }
        assert [read[r.key or ""] for r in results] == [row["name"] for row in rows], "each result is its own row's"

        model.reset()
        updates = [RecordUpdate(key=r.key or "", values={"telephone1": f"+1 555 {r.index:04}"}) for r in results]
        assert all(u.ok for u in connector.update(ACCOUNTS, updates))
        assert 1 < model.peak_in_flight <= 4 and not model.refused
        phones = connector.read(ACCOUNTS, [r.key or "" for r in results], columns=["telephone1"])
        assert {r.key: r.values["telephone1"] for r in phones} == {u.key: u.values["telephone1"] for u in updates}


def test_dataverse_refuses_more_than_its_concurrent_limit_and_the_client_recovers(tenant: DataverseTenant) -> None:
    """A client that sends more than the service takes at once (no hint, a lower limit than its own) gets the 429
    Dataverse answers (-2147015898), waits the Retry-After and has every record created once."""
    model = ServiceModel.dataverse(per_request=0.05, concurrency=2, retry_after=0.2)
    for connector in dataverse(tenant, model, concurrency=6):
        rows = [{"name": f"Crowded Traders {i:03}", "accountnumber": f"C{i:03}"} for i in range(300)]
        results = connector.insert(ACCOUNTS, rows)
        assert all(r.ok for r in results)
        assert model.refused["concurrency"] > 0 and model.peak_in_flight <= 2
        found = connector.find_any(ACCOUNTS, "accountnumber", [row["accountnumber"] for row in rows], columns=[])
        assert len(found) == 300, "each record created once"


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return create_demo(tmp_path_factory.mktemp("parallel-bc-demo"))


def test_business_central_sends_at_most_5_at_once_and_more_than_one(demo_template: DemoResult, tmp_path: Path) -> None:
    db = Path(shutil.copy(demo_template.directory / "erp.db", tmp_path / "erp.db"))
    model = ServiceModel.business_central(per_request=0.05)
    app = business_central_app(f"sqlite:///{db}", companies=[DEMO_COMPANY], tables=DEMO_BC_TABLES, model=model)
    with serve(app) as url:
        client = HttpClient(
            f"{url}/v2.0/tenant/production/api/v2.0", system="ERP", headers=BC_HEADERS, pacer=Pacer(concurrency=5)
        )
        connector = BusinessCentralConnector(client, company=DEMO_COMPANY.name, display_name="ERP", batch_size=100)
        try:
            rows = [{"displayName": f"Parallel Customer {i:03}", "number": f"PC{i:03}"} for i in range(300)]
            model.reset()
            results = connector.insert(CUSTOMERS, rows)
            assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
            assert 1 < model.peak_in_flight <= 5 and not model.refused
            read = connector.read(CUSTOMERS, [r.key or "" for r in results], columns=["number"])
            numbers = {r.key: r.values["number"] for r in read}
            assert [numbers[r.key or ""] for r in results] == [row["number"] for row in rows]
        finally:
            connector.close()


def test_a_429_stops_every_sender_until_its_retry_after() -> None:
    """Four threads send; the first answer is a 429 with Retry-After 0.5 s: no request reaches the service in the
    half second after it (those already sent aside), then all are sent and answered."""
    lock = threading.Lock()
    arrivals: list[float] = []
    refused_at: list[float] = []

    def handle(request: httpx.Request) -> httpx.Response:
        with lock:
            now = time.monotonic()
            if not refused_at:
                refused_at.append(now)
                return httpx.Response(429, headers={"Retry-After": "0.5"}, json={"error": {"code": "-2147015902"}})
            arrivals.append(now)
        time.sleep(0.02)
        return httpx.Response(200, json={"value": []})

    client = HttpClient(
        "https://org.example/api/data/v9.2/",
        system="Sales",
        transport=httpx.MockTransport(handle),
        pacer=Pacer(concurrency=4),
    )
    try:
        answers = client.parallel(lambda n: client.get_json("accounts", what=f"reading {n}"), list(range(12)))
    finally:
        client.close()
    assert answers == [{"value": []}] * 12
    [refused] = refused_at
    early = [t - refused for t in arrivals if t - refused < 0.4]
    assert len(early) <= 3, f"only the requests already sent may arrive during the pause: {early}"
    assert all(t < 0.1 for t in early), f"no request sent during the pause: {early}"
    assert len(arrivals) == 12, "the refused request was sent again once the pause was over"


def test_parallel_answers_in_order_and_finishes_every_item_before_raising() -> None:
    client = HttpClient("https://org.example/", system="Sales", pacer=Pacer(concurrency=3))
    done: list[int] = []

    def work(n: int) -> int:
        time.sleep(0.01 * (5 - n % 5))
        if n == 2:
            raise RuntimeError("boom")
        done.append(n)
        return n * n

    try:
        assert client.parallel(lambda n: n * n, list(range(20))) == [n * n for n in range(20)]
        with pytest.raises(RuntimeError, match="boom"):
            client.parallel(work, list(range(10)))
        assert sorted(done) == [n for n in range(10) if n != 2], "every other item was done before the raise"
        inner = client.parallel(lambda n: client.parallel(lambda m: (n, m), [0, 1]), [0, 1, 2])
        assert inner == [[(n, 0), (n, 1)] for n in range(3)], "nested calls run inline, never wait on a held thread"
    finally:
        client.close()
