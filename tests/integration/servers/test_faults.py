"""Fault injection: 429 with Retry-After, 503, slow responses, dropped connections, rejected records."""

from __future__ import annotations

import time

import httpx
import pytest

from integration.servers.conftest import COMPANY, Running


def statuses(client: httpx.Client, url: str, count: int) -> list[int]:
    return [client.get(url).status_code for _ in range(count)]


def test_throttle_the_next_requests_with_retry_after(dataverse: Running) -> None:
    dataverse.faults.throttle(2, retry_after=3)
    response = dataverse.client.get("WhoAmI")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.json()["error"]["code"] == "0x80072322"
    assert statuses(dataverse.client, "WhoAmI", 3) == [429, 200, 200]
    assert dataverse.faults.injected["throttle"] == 2


def test_throttle_every_kth_request(bc: Running) -> None:
    bc.faults.throttle(every=3, retry_after=None)
    assert statuses(bc.client, "companies", 7) == [200, 200, 429, 200, 200, 429, 200]
    throttled = [bc.client.get("companies") for _ in range(2)][-1]  # the 9th
    assert throttled.status_code == 429 and "retry-after" not in throttled.headers
    assert throttled.json()["error"]["code"] == "Application_TooManyRequests"
    bc.faults.clear()
    assert statuses(bc.client, "companies", 4) == [200] * 4


def test_unavailable(dataverse: Running) -> None:
    dataverse.faults.unavailable(2)
    assert statuses(dataverse.client, "WhoAmI", 3) == [503, 503, 200]


def test_slow_responses(dataverse: Running) -> None:
    dataverse.faults.slow(0.3, count=1)
    started = time.monotonic()
    assert dataverse.client.get("WhoAmI").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    dataverse.client.get("WhoAmI")
    assert time.monotonic() - started < 0.3
    with pytest.raises(httpx.ReadTimeout):
        dataverse.faults.slow(1.0)
        dataverse.client.get("WhoAmI", timeout=0.2)


def test_dropped_connections(bc: Running) -> None:
    bc.faults.drop(1)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        bc.client.get("companies")
    assert bc.client.get("companies").status_code == 200
    assert bc.faults.injected["drop"] == 1


def test_a_record_that_always_fails_validation(dataverse: Running, bc: Running) -> None:
    dataverse.faults.reject("name", "Poison Ltd", entity_set="accounts")
    for _ in range(2):
        response = dataverse.client.post("accounts", json={"name": "Poison Ltd"})
        assert response.status_code == 400
        assert "Poison Ltd" in response.json()["error"]["message"]
    assert dataverse.client.post("accounts", json={"name": "Fine Ltd"}).status_code == 204
    assert dataverse.client.post("contacts", json={"lastname": "Poison Ltd"}).status_code == 204
    bc.faults.reject("city", "Nowhere", message="City Nowhere does not exist in Post Codes.")
    response = bc.client.post(COMPANY + "customers", json={"city": "Nowhere"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "Internal_ValidationError",
        "message": "City Nowhere does not exist in Post Codes.",
    }
    bulk = dataverse.client.post(
        "accounts/Microsoft.Dynamics.CRM.CreateMultiple",
        json={"Targets": [{"name": n, "@odata.type": "Microsoft.Dynamics.CRM.account"} for n in ("A", "Poison Ltd")]},
    )
    assert bulk.status_code == 400
    assert dataverse.client.get("accounts", params={"$filter": "name eq 'A'"}).json()["value"] == []


def test_requests_are_counted_per_server(dataverse: Running, bc: Running) -> None:
    dataverse.url.reset_count()
    statuses(dataverse.client, "WhoAmI", 3)
    bc.client.get("companies")
    assert dataverse.url.requests_served == 3
    assert bc.url.requests_served == 1


def _batch(*requests: dict[str, object]) -> dict[str, object]:
    return {"requests": [{"id": str(i), **r} for i, r in enumerate(requests, start=1)]}


def _count(bc: Running, name: str) -> int:
    found = bc.client.get(COMPANY + "customers", params={"$filter": f"displayName eq '{name}'"}).json()["value"]
    return len(found)


def test_an_aimed_fault_hits_the_chosen_request_only(bc: Running) -> None:
    creating = r'"method": ?"POST"'
    bc.faults.aim("drop-answer", matching=creating, skip=1)
    reading = _batch({"method": "GET", "url": COMPANY + "customers?$top=1"})
    assert bc.client.post("$batch", json=reading).status_code == 200, "a batch of reads is no match"
    first = _batch({"method": "POST", "url": COMPANY + "customers", "body": {"displayName": "Aimed One"}})
    assert bc.client.post("$batch", json=first).status_code == 200, "the first match is let through"
    second = _batch({"method": "POST", "url": COMPANY + "customers", "body": {"displayName": "Aimed Two"}})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        bc.client.post("$batch", json=second)
    assert _count(bc, "Aimed Two") == 1, "the server acted before the connection dropped"
    assert bc.faults.injected["drop-answer"] == 1 and not bc.faults.aiming
    third = _batch({"method": "POST", "url": COMPANY + "customers", "body": {"displayName": "Aimed Three"}})
    assert bc.client.post("$batch", json=third).status_code == 200, "count 1: the fault is spent"


@pytest.mark.parametrize(("kind", "status"), [("error", 500), ("unavailable", 503)])
def test_an_aimed_refusal_does_nothing(bc: Running, kind: str, status: int) -> None:
    bc.faults.aim(kind, matching=r"Refused Ltd")
    body = _batch({"method": "POST", "url": COMPANY + "customers", "body": {"displayName": "Refused Ltd"}})
    assert bc.client.post("$batch", json=body).status_code == status
    assert _count(bc, "Refused Ltd") == 0
    bc.faults.aim("drop", matching=r"Refused Ltd")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        bc.client.post("$batch", json=body)
    assert _count(bc, "Refused Ltd") == 0
    assert bc.client.post("$batch", json=body).status_code == 200
    assert _count(bc, "Refused Ltd") == 1
