"""``ServiceModel``: the service time and the service-protection limits of Dataverse and Business Central, as their
documentation states them (see src/coupler/testing/service_model.py for the sources)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx

from coupler.testing import ServiceModel, serve


async def answer(scope: Any, receive: Any, send: Any) -> None:
    """Three records read, or as many written as the body holds."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    rows = [{"@odata.etag": f'W/"{n}"', "name": f"N{n}"} for n in range(3)]
    payload = json.dumps({"value": rows}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})


def test_a_request_takes_its_modelled_time_and_dataverse_recommends_its_parallelism() -> None:
    model = ServiceModel.dataverse(per_request=0.05, per_read_row=0.01, per_write_row=0.02, dop_hint=7)
    with serve(model.wrap(answer)) as url, httpx.Client(base_url=url) as client:
        started = time.monotonic()
        read = client.get("/api/data/v9.2/accounts")
        assert time.monotonic() - started >= 0.08, "50 ms a request, 10 ms for each of the 3 records read"
        assert read.headers["x-ms-dop-hint"] == "7"
        client.post("/api/data/v9.2/accounts/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": [{}] * 5})
    assert abs(model.execution - (0.08 + 0.15)) < 1e-9, "the CreateMultiple: 50 ms and 5 records written at 20 ms"
    assert model.served == 2 and model.peak_in_flight == 1


def test_dataverse_refuses_a_53rd_concurrent_request_and_beyond_its_budgets() -> None:
    model = ServiceModel.dataverse(per_request=0.3, concurrency=2)
    with serve(model.wrap(answer)) as url, httpx.Client(base_url=url) as client:
        answers: list[httpx.Response] = []
        threads = [
            threading.Thread(target=lambda: answers.append(client.get("/api/data/v9.2/accounts"))) for _ in range(3)
        ]
        for thread in threads:
            thread.start()
            time.sleep(0.05)
        for thread in threads:
            thread.join()
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) == 1 and refused[0].json()["error"]["code"] == "-2147015898"
    assert "concurrent requests exceeded the limit of 2" in refused[0].json()["error"]["message"]
    assert refused[0].headers["retry-after"] == "1"

    budget = ServiceModel.dataverse(per_request=0.05, execution_budget=0.1, window=60)
    with serve(budget.wrap(answer)) as url, httpx.Client(base_url=url) as client:
        statuses = [client.get("/api/data/v9.2/accounts") for _ in range(3)]
    assert [s.status_code for s in statuses] == [200, 200, 429], "80 ms each: the budget of 100 ms is spent"
    assert statuses[2].json()["error"]["code"] == "-2147015903"
    assert 58 <= int(statuses[2].headers["retry-after"]) <= 60, "until the window lets go of enough execution time"

    requests = ServiceModel.dataverse(requests=2, window=30)
    with serve(requests.wrap(answer)) as url, httpx.Client(base_url=url) as client:
        statuses = [client.get("/api/data/v9.2/accounts") for _ in range(3)]
    assert [s.status_code for s in statuses] == [200, 200, 429]
    assert statuses[2].json()["error"]["code"] == "-2147015902"


def test_business_central_queues_beyond_5_and_refuses_beyond_the_queue_and_the_rate() -> None:
    model = ServiceModel.business_central(per_request=0.2, concurrency=1, queue=1)
    with serve(model.wrap(answer)) as url, httpx.Client(base_url=url) as client:
        answers: list[httpx.Response] = []
        threads = [threading.Thread(target=lambda: answers.append(client.get("/api/v2.0/customers"))) for _ in range(3)]
        for thread in threads:
            thread.start()
            time.sleep(0.03)
        for thread in threads:
            thread.join()
    assert sorted(a.status_code for a in answers) == [200, 200, 429], "one processed, one queued, one refused"
    assert model.peak_in_flight == 1
    [refused] = [a for a in answers if a.status_code == 429]
    assert "retry-after" not in refused.headers, "Business Central promises no Retry-After"

    rate = ServiceModel.business_central(requests=2)
    with serve(rate.wrap(answer)) as url, httpx.Client(base_url=url) as client:
        statuses = [client.get("/api/v2.0/customers").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
