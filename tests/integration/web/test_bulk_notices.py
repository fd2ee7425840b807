"""The notices after bulk Decouple name the records: "Decouple every matching record" names the first pairs it
decoupled (each record linked to its card, "and N more"), and the undo of a decoupling of several records tells
of every pair coupled again, not only of the last one's job."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from coupler.services.api import Coupler
from integration.web.test_their_words import _linked_pair, visible

HTML = {"accept": "text/html"}


def test_decoupling_every_matching_record_names_the_records_in_its_notice(
    client: TestClient, csrf: str, coupler: Coupler, wait_task: Callable[[str], dict[str, object]]
) -> None:
    coupled = coupler.match("CUSTOMER").job.counters.coupled
    assert coupled > 10, "more than the notice names"
    pairs = coupler.systems.store.couplings.page("CUSTOMER", after=None, limit=10)  # the first batch's
    form = {"csrf_token": csrf, "scope": "all", "q": "", "filter": "coupled"}
    started = client.post("/mappings/CUSTOMER/records/decouple", data=form, follow_redirects=False)
    task_id = started.headers["location"].split("task=")[1]
    assert wait_task(task_id)["state"] == "done"

    polled = client.get(f"/tasks/{task_id}", headers={**HTML, "hx-request": "true"}).text

    text = visible(polled)
    assert f"Decoupled {coupled} CUSTOMER records. They stay as they are in both systems." in text
    assert f"and {coupled - 10} more" in text
    named = re.findall(
        r'<li><a href="/mappings/CUSTOMER/records/(C\d+)">(C\d+) [^<]+</a> from '
        r'<a href="/mappings/CUSTOMER/records/([^"]+)">[^<]+</a></li>',
        polled,
    )
    assert len(named) == 10, "the first ten pairs, each record linked to its card by its number and name"
    assert all(link == number for link, number, _ in named)
    assert {partner for _, _, partner in named} == {c.integration_key for c in pairs}, "the first pairs decoupled"


def test_undoing_a_decoupling_of_several_records_tells_of_every_pair_coupled_again(
    client: TestClient, csrf: str, fabrikam: str, coupler: Coupler
) -> None:
    assert coupler.couple("CUSTOMER", "C00090", "Northwind Traders").ok
    form = {"csrf_token": csrf, "ref": ["C00070", "C00090"]}
    page = client.post("/mappings/CUSTOMER/records/decouple", data=form, headers=HTML).text
    undo = re.search(r'action="(/jobs/[^"]+/undo)"', page)
    assert undo is not None

    again = client.post(undo.group(1), data={"csrf_token": csrf, "back": "/mappings/CUSTOMER/records"}, headers=HTML)

    assert again.status_code == 200
    assert "Coupled 2 CUSTOMER records again." in visible(again.text)
    _linked_pair(again.text, "<li>", "C00070", "C00070 Fabrikam, Inc.", " with ", "Fabrikam, Inc.")
    _linked_pair(again.text, "<li>", "C00090", "C00090 Northwind Traders", " with ", "Northwind Traders")
    assert coupler.systems.store.stats("CUSTOMER").couplings == 2


def test_undoing_the_decoupling_of_one_record_names_the_pair(
    client: TestClient, csrf: str, fabrikam: str, coupler: Coupler
) -> None:
    form = {"csrf_token": csrf, "ref": ["C00070"]}
    page = client.post("/mappings/CUSTOMER/records/decouple", data=form, headers=HTML).text
    undo = re.search(r'action="(/jobs/[^"]+/undo)"', page)
    assert undo is not None

    again = client.post(undo.group(1), data={"csrf_token": csrf, "back": "/mappings/CUSTOMER/records"}, headers=HTML)

    assert "Coupled C00070 Fabrikam, Inc. with Fabrikam, Inc. again." in visible(again.text)
