"""The records list as Business Central's: sorted by the number unless a header says otherwise, paged both ways,
"Select all N matching" for the bulk actions; Synchronize now offering to create a record not coupled; a mistyped
number refused with a message and no job; the local records still listed while the other system does not answer."""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from coupler.entrypoints.web.app import create_app
from coupler.services.api import Coupler
from integration.web.conftest import BASE_URL
from integration.web.test_their_words import visible

HTML = {"accept": "text/html"}
ROW_NUMBER = re.compile(r'<th scope="row"><a href="[^"]+">([^<]+)</a></th>')


def _numbers(html: str) -> list[str]:
    return ROW_NUMBER.findall(html)


def _header(html: str, label: str) -> str:
    """The <th> of the column ``label``."""
    found = re.search(
        r"<th scope=\"col\"[^>]*>\s*<a class=\"sort\"[^>]*>" + re.escape(label) + r"[^<]*(<span[^<]*</span>)?</a></th>",
        html,
    )
    assert found, label
    return found.group(0)


def _link(html: str, rel_or_text: str) -> str:
    found = re.search(r'<a href="([^"]+)"[^>]*>' + re.escape(rel_or_text) + "</a>", html)
    assert found, rel_or_text
    return found.group(1).replace("&amp;", "&")


# sorting and paging -----------------------------------------------------------------------------------------------
def test_the_list_is_sorted_by_number_and_every_column_sorts_both_ways(client: TestClient) -> None:
    page = client.get("/mappings/CUSTOMER/records", headers=HTML).text
    numbers = _numbers(page)
    assert numbers == sorted(numbers) and numbers[0] == "C00010" and len(numbers) > 20
    assert 'aria-sort="ascending"' in _header(page, "No.")

    by_name = client.get(re.sub("&amp;", "&", re.search(r'href="([^"]*sort=name[^"]*)"', page).group(1)), headers=HTML)
    names = [visible(cell) for cell in re.findall(r"</th>\s*<td>(.*?)</td>", by_name.text)]
    assert names == sorted(names) and 'aria-sort="ascending"' in _header(by_name.text, "Name")
    again = re.search(r'href="([^"]*sort=name[^"]*)"', by_name.text).group(1).replace("&amp;", "&")
    assert "desc=1" in again
    reversed_page = client.get(again, headers=HTML).text
    names_desc = [visible(cell) for cell in re.findall(r"</th>\s*<td>(.*?)</td>", reversed_page)]
    assert names_desc == sorted(names_desc, reverse=True)
    assert 'aria-sort="descending"' in _header(reversed_page, "Name")
    for column in ("coupled", "synced", "result"):
        for desc in ("", "&desc=1"):
            answer = client.get(f"/mappings/CUSTOMER/records?sort={column}{desc}", headers=HTML)
            assert answer.status_code == 200 and len(_numbers(answer.text)) == len(numbers), column


def test_pages_go_forward_and_back_on_keysets(client: TestClient) -> None:
    everything = _numbers(client.get("/mappings/CUSTOMER/records?limit=500", headers=HTML).text)
    first = client.get("/mappings/CUSTOMER/records?limit=7", headers=HTML).text
    assert "Previous page" not in first and "First page" not in first
    pages, page = [first], first
    while "Next page" in page:
        page = client.get(_link(page, "Next page"), headers=HTML).text
        pages.append(page)
    assert [n for p in pages for n in _numbers(p)] == everything
    back = pages[-1]
    for expected in reversed(pages[:-1]):
        back = client.get(_link(back, "Previous page"), headers=HTML).text
        assert _numbers(back) == _numbers(expected)
    assert "Previous page" not in back
    third = pages[2]
    assert _numbers(client.get(_link(third, "First page"), headers=HTML).text) == _numbers(first)


def test_counts_have_thousands_separators(client: TestClient, demo_dir: Path) -> None:
    with closing(sqlite3.connect(demo_dir / "erp.db")) as erp, erp:
        erp.executemany(
            'INSERT INTO customers (id, number, "displayName") VALUES (?, ?, ?)',
            [(str(uuid.uuid4()), f"K{n:05d}", f"Bulk {n}") for n in range(1200)],
        )
    page = visible(client.get("/mappings/CUSTOMER/records", headers=HTML).text)
    assert re.search(r"\b1,2\d\d records, showing 50\b", page), page[:400]
    assert "Select all 1,2" in page


# Select all N matching ----------------------------------------------------------------------------------------
def test_select_all_matching_synchronizes_what_the_search_matches_in_the_background(
    client: TestClient, csrf: str, fabrikam: str, coupler: Coupler, wait_task: Callable[[str], dict[str, object]]
) -> None:
    assert coupler.match("CUSTOMER").job.counters.coupled >= 5
    dialog = visible(client.get("/mappings/CUSTOMER/sync?scope=all&q=C001&filter=all", headers=HTML).text)
    assert "every matching record (9)" in dialog  # C00100 to C00190 but C00100, outside the filter
    form = {"csrf_token": csrf, "scope": "all", "q": "C001", "filter": "all", "choice": "to-integration"}
    started = client.post("/mappings/CUSTOMER/sync", data=form, follow_redirects=False)
    assert started.status_code == 303 and "task=" in started.headers["location"]
    done = wait_task(started.headers["location"].split("task=")[1])
    assert done["state"] == "done", done
    job = coupler.jobs(limit=1)[0]
    coupled_c001 = [
        n
        for n in ("C00100", "C00110", "C00120", "C00130", "C00140", "C00150", "C00160", "C00170", "C00180", "C00190")
        if coupler.status("CUSTOMER", n).coupling is not None
    ]
    assert job.kind.value == "manual" and job.counters.failed == 0
    assert job.counters.total == len(coupled_c001), "the coupled records the search matched, nothing else"


def test_select_all_matching_decouples_and_matches_the_filter(
    client: TestClient, csrf: str, coupler: Coupler, wait_task: Callable[[str], dict[str, object]]
) -> None:
    coupled = coupler.match("CUSTOMER").job.counters.coupled
    dialog = visible(client.get("/mappings/CUSTOMER/decouple?scope=all&q=&filter=coupled", headers=HTML).text)
    assert "Decouple every matching CUSTOMER record?" in dialog and f"{coupled} records matching" in dialog
    form = {"csrf_token": csrf, "scope": "all", "q": "", "filter": "coupled"}
    started = client.post("/mappings/CUSTOMER/records/decouple", data=form, follow_redirects=False)
    assert wait_task(started.headers["location"].split("task=")[1])["state"] == "done"
    assert coupler.systems.store.stats("CUSTOMER").couplings == 0
    match = {"csrf_token": csrf, "scope": "all", "q": "north", "filter": "all"}
    started = client.post("/mappings/CUSTOMER/records/match", data=match, follow_redirects=False)
    assert wait_task(started.headers["location"].split("task=")[1])["state"] == "done"
    # "north" matches Northwind Traders and Northwind Electric Cars, both with an account of their name
    assert coupler.systems.store.stats("CUSTOMER").couplings == 2


# Synchronize now on a record not coupled ------------------------------------------------------------------------
def test_synchronize_now_on_a_record_not_coupled_offers_to_create_it(
    client: TestClient, csrf: str, fabrikam: str, coupler: Coupler
) -> None:
    card = visible(client.get("/mappings/CUSTOMER/records/C00020", headers=HTML).text)
    assert "Synchronize now" in card and "Set up coupling" in card
    dialog = visible(client.get("/mappings/CUSTOMER/sync?ref=C00020", headers=HTML).text)
    assert "Customer C00020 Trey Research is not coupled. Create it in Dynamics 365 Sales?" in dialog
    assert "Create" in dialog and "Cancel" in dialog
    key = coupler.status("CUSTOMER", "C00020").local
    assert key is not None
    form = {
        "csrf_token": csrf,
        "offered": key.key,
        "create_offered": "true",
        "back": "/mappings/CUSTOMER/records/C00020",
    }
    page = client.post("/mappings/CUSTOMER/sync", data=form, headers=HTML)
    assert page.status_code == 200
    assert "Created the Dynamics 365 Sales Account from C00020 Trey Research" in visible(page.text)
    assert coupler.status("CUSTOMER", "C00020").coupling is not None


def test_a_selection_leaves_out_the_records_not_coupled_without_counting_them_failed(
    client: TestClient, csrf: str, fabrikam: str, coupler: Coupler
) -> None:
    keys = {n: coupler.status("CUSTOMER", n).local.key for n in (fabrikam, "C00020")}  # type: ignore[union-attr]
    dialog = visible(
        client.get(f"/mappings/CUSTOMER/sync?ref={keys[fabrikam]}&ref={keys['C00020']}", headers=HTML).text
    )
    assert "Not coupled: Customer C00020 Trey Research" in dialog and "Create it in Dynamics 365 Sales" in dialog
    form = {"csrf_token": csrf, "ref": list(keys.values()), "offered": keys["C00020"], "choice": "to-integration"}
    page = visible(client.post("/mappings/CUSTOMER/sync", data=form, headers=HTML).text)
    job = coupler.jobs(limit=1)[0]
    assert job.kind.value == "manual" and job.counters.failed == 0, job.counters
    assert "failed" not in page.split("Synchronize now")[1][:300]
    assert "Customer C00020 Trey Research is not coupled" in page
    assert coupler.status("CUSTOMER", "C00020").coupling is None, "declined: nothing created"
    accepted = visible(
        client.post("/mappings/CUSTOMER/sync", data={**form, "create_offered": "true"}, headers=HTML).text
    )
    assert "Created the Dynamics 365 Sales Account from C00020 Trey Research" in accepted
    assert "Synchronize now (CUSTOMER)" in accepted, "both jobs' notices"
    assert coupler.status("CUSTOMER", "C00020").coupling is not None


# a mistyped number --------------------------------------------------------------------------------------------------
def test_a_mistyped_number_is_a_message_and_no_job(client: TestClient, csrf: str, coupler: Coupler) -> None:
    before = len(coupler.jobs(limit=1000))
    for path, form in [
        ("/mappings/CUSTOMER/sync", {"ref": "C99999", "choice": "to-integration"}),
        ("/mappings/CUSTOMER/records/decouple", {"ref": "C99999"}),
        ("/mappings/CUSTOMER/records/C99999/couple", {"integration": "Fabrikam, Inc."}),
    ]:
        answer = client.post(path, data={"csrf_token": csrf, **form}, headers=HTML)
        assert answer.status_code == 404, (path, answer.status_code)
        assert "Business Central has no Customer C99999" in visible(answer.text), path
    refused = client.post(
        "/mappings/CUSTOMER/records/decouple", data={"csrf_token": csrf, "ref": "C00020"}, headers=HTML
    )
    assert refused.status_code == 422
    assert "Customer C00020 Trey Research is not coupled, so there is nothing to decouple." in visible(refused.text)
    assert len(coupler.jobs(limit=1000)) == before, "no failed job in the synchronization log"


# one system does not answer ----------------------------------------------------------------------------------------
def test_the_local_records_are_listed_while_the_other_system_does_not_answer(config: Path) -> None:
    (config.parent / "crm.db").write_bytes(b"not a database" * 100)
    with TestClient(create_app(config), base_url=BASE_URL, headers=HTML) as offline:
        page = offline.get("/mappings/CUSTOMER/records")
        assert page.status_code == 200
        text = visible(page.text)
        assert "Not connected." in text and "Dynamics 365 Sales:" in text
        assert _numbers(page.text)[:3] == ["C00010", "C00020", "C00030"]
        assert "Actions are offered when both systems answer." in text
        assert "Match-based coupling" not in text


def test_the_list_stays_when_the_other_system_stops_answering(
    client: TestClient, fabrikam: str, coupler: Coupler, demo_dir: Path
) -> None:
    (demo_dir / "crm.db").write_bytes(b"not a database" * 100)
    coupler.systems.integration.close()  # its next read opens the broken file
    page = client.get("/mappings/CUSTOMER/records", headers=HTML)
    assert page.status_code == 200
    row = next(r for r in page.text.split("<tr>") if f">{fabrikam}</a>" in r)
    assert "coupled (Dynamics 365 Sales does not answer)" in visible(row)


def test_the_list_says_which_system_does_not_answer_when_it_is_the_local_one(config: Path) -> None:
    (config.parent / "erp.db").write_bytes(b"not a database" * 100)
    with TestClient(create_app(config), base_url=BASE_URL, headers=HTML) as offline:
        page = offline.get("/mappings/CUSTOMER/records")
        assert page.status_code == 200
        text = visible(page.text)
        assert "Business Central does not answer, so its records cannot be listed now." in text
        assert "Not connected." in text and "Business Central:" in text


def test_a_count_that_cost_a_scan_is_kept_shown_with_its_age_and_made_again_after_a_job(
    client: TestClient, coupler: Coupler, demo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coupler.services import table_counts

    monkeypatch.setattr(table_counts, "SLOW", -1.0)  # every count "cost a scan": kept
    first = client.get("/mappings/CUSTOMER/records", headers=HTML).text
    total = int(re.search(r"([\d,]+) records", first).group(1).replace(",", ""))
    assert "counted-at" not in first  # counted just now
    with closing(sqlite3.connect(demo_dir / "erp.db")) as erp, erp:
        erp.execute("INSERT INTO customers (displayName) VALUES ('Counted Later Ltd')")
    kept = client.get("/mappings/CUSTOMER/records", headers=HTML).text
    assert f"{total:,} records" in kept and "(counted just now)" in kept  # the kept count, with its age

    coupler.sync_modified(["CUSTOMER"])  # coupler wrote: the count is made again
    after = client.get("/mappings/CUSTOMER/records", headers=HTML).text
    assert f"{total + 1:,} records" in after and "counted-at" not in after
