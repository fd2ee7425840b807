"""How a page of records becomes parallel requests (``ODataConnector._spread``) and how big the engine's page is
(``bootstrap._page_size``): full requests side by side, so that parallel sending keeps issue 5's request budget."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from coupler.adapters.connectors.odata.connector import READ_FLOOR, ODataConnector
from coupler.bootstrap import _page_size


def spread(count: int, *, batch: int, in_flight: int, floor: int | None = None) -> int:
    host: Any = SimpleNamespace(client=SimpleNamespace(concurrency=in_flight), _batch_size=batch)
    return ODataConnector._spread(host, count) if floor is None else ODataConnector._spread(host, count, floor=floor)


@pytest.mark.parametrize(
    ("count", "batch", "in_flight", "size"),
    [
        (5000, 1000, 4, 625),  # five full requests would take two rounds of four: eight of 625 fill both
        (5000, 1000, 52, 1000),  # at most 5 lanes whatever the service allows: five full requests at once
        (1000, 1000, 4, 250),  # one request's worth spread over the four lanes
        (250, 1000, 5, 125),  # never under 100 records a request: two of 125, not five of 50
        (80, 1000, 5, 80),  # fewer than 100: one request
        (5000, 100, 5, 100),  # Business Central's $batch of 100: fifty full requests, five at a time
        (5000, 1000, 1, 1000),  # one at a time: full requests, as before parallel sending
    ],
)
def test_writes_go_in_requests_that_fill_every_lane_and_none_under_a_hundred(
    count: int, batch: int, in_flight: int, size: int
) -> None:
    assert spread(count, batch=batch, in_flight=in_flight) == size


def test_reads_of_many_keys_put_at_least_four_chains_in_a_batch() -> None:
    assert spread(6, batch=1000, in_flight=5, floor=READ_FLOOR) == 6  # 600 keys, six chains: one $batch
    assert spread(30, batch=1000, in_flight=5, floor=READ_FLOOR) == 6  # 5,000 keys: five $batch requests side by side


def connector(parallel: int) -> Any:
    return SimpleNamespace(parallel=parallel)


def test_the_engines_page_is_a_thousand_records_per_request_in_flight_unless_the_configuration_sets_it() -> None:
    assert _page_size(None, connector(5), connector(1)) == 5000  # an HTTP system sends 5 requests at once
    assert _page_size(None, connector(1), connector(1)) == 1000  # two databases: as before
    assert _page_size(250, connector(5), connector(5)) == 250  # [sync] batch_size set: the page, as written
