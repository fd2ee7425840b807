"""Dataverse multipart $batch: parts, atomic changesets, Content-ID references, continue-on-error, limits."""

from __future__ import annotations

from typing import Any

from integration.servers.conftest import DV_ROOT, Running
from integration.servers.multipart import Op, batch_body, read_batch_response


def post_batch(dataverse: Running, items: list[Op | list[Op]], prefer: str | None = None) -> list[tuple[int, Any]]:
    headers = {"Content-Type": "multipart/mixed; boundary=batch_1"}
    if prefer:
        headers["Prefer"] = prefer
    response = dataverse.client.post("$batch", content=batch_body("batch_1", items).encode(), headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("multipart/mixed; boundary=batchresponse_")
    return read_batch_response(response.headers["content-type"], response.text)


def count(dataverse: Running, name: str) -> int:
    return len(dataverse.client.get("accounts", params={"$filter": f"name eq '{name}'"}).json()["value"])


def test_parts_run_in_order_with_get_and_writes(dataverse: Running) -> None:
    results = post_batch(
        dataverse,
        [
            ("POST", f"{DV_ROOT}accounts", {"name": "Batch A"}),
            ("GET", "accounts?$select=name&$filter=name%20eq%20'Batch%20A'", None),
        ],
    )
    assert [status for status, _ in results] == [204, 200]
    assert [row["name"] for row in results[1][1]["value"]] == ["Batch A"]


def test_a_changeset_is_atomic(dataverse: Running) -> None:
    results = post_batch(
        dataverse,
        [[("POST", "accounts", {"name": "CS one"}), ("POST", "accounts", {"name": "x" * 200})]],
    )
    assert len(results) == 1
    status, body = results[0]
    assert status == 400 and "'name'" in body["error"]["message"]
    assert count(dataverse, "CS one") == 0
    ok = post_batch(dataverse, [[("POST", "accounts", {"name": "CS two"}), ("POST", "accounts", {"name": "CS three"})]])
    assert [s for s, _ in ok] == [204, 204]
    assert count(dataverse, "CS two") == count(dataverse, "CS three") == 1


def test_content_id_references_within_a_changeset(dataverse: Running) -> None:
    results = post_batch(
        dataverse,
        [[("POST", "accounts", {"name": "Referenced"}), ("PATCH", "$1", {"telephone1": "555"})]],
    )
    assert [s for s, _ in results] == [204, 204]
    row = dataverse.client.get("accounts", params={"$filter": "name eq 'Referenced'"}).json()["value"][0]
    assert row["telephone1"] == "555"


def test_without_continue_on_error_the_batch_stops_at_the_first_failure(dataverse: Running) -> None:
    results = post_batch(
        dataverse,
        [
            ("POST", "accounts", {"name": "Before"}),
            ("POST", "accounts", {"name": "x" * 200}),
            ("POST", "accounts", {"name": "After"}),
        ],
    )
    assert [s for s, _ in results] == [204, 400]
    assert count(dataverse, "Before") == 1 and count(dataverse, "After") == 0


def test_continue_on_error_reports_every_part(dataverse: Running) -> None:
    results = post_batch(
        dataverse,
        [
            ("POST", "accounts", {"name": "Before"}),
            ("POST", "accounts", {"name": "x" * 200}),
            [("POST", "accounts", {"name": "In changeset"})],
            ("PATCH", "accounts(00000000-0000-4000-8000-000000000000)", {"name": "Ghost"}),
            ("POST", "accounts", {"name": "After"}),
        ],
        prefer="odata.continue-on-error",
    )
    assert [s for s, _ in results] == [204, 400, 204, 204, 204]
    assert count(dataverse, "After") == count(dataverse, "In changeset") == 1


def test_a_get_in_a_changeset_and_malformed_batches_are_refused(dataverse: Running) -> None:
    results = post_batch(dataverse, [[("GET", "accounts", None)]])
    assert results[0][0] == 400
    no_boundary = dataverse.client.post("$batch", content=b"x", headers={"Content-Type": "application/json"})
    assert no_boundary.status_code == 400 and "multipart/mixed" in no_boundary.json()["error"]["message"]


def test_more_than_1000_requests_are_refused(dataverse: Running) -> None:
    items: list[Op | list[Op]] = [("GET", "WhoAmI", None)] * 1001
    headers = {"Content-Type": "multipart/mixed; boundary=b"}
    response = dataverse.client.post("$batch", content=batch_body("b", items).encode(), headers=headers)
    assert response.status_code == 400
    assert "1000" in response.json()["error"]["message"]


def test_a_batch_counts_as_one_request(dataverse: Running) -> None:
    before = dataverse.url.requests_served
    post_batch(dataverse, [("GET", "WhoAmI", None)] * 5)
    assert dataverse.url.requests_served == before + 1
