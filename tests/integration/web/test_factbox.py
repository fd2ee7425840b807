"""The record card's Dynamics 365 Sales panel (Business Central's FactBox) in-process: titled with the integration
system's configured name, it says what the record is coupled to, its last synchronization in each direction (when and
how it ended, with its job), its status, and opens the coupled record in the other system where it has a page."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from coupler.domain.mapping import TableSpec
from coupler.services.api import Coupler

HTML = {"accept": "text/html"}


def panel(client: TestClient, ref: str) -> str:
    response = client.get(f"/mappings/CUSTOMER/records/{ref}", headers=HTML)
    assert response.status_code == 200, response.text
    html = response.text
    assert html.count('<aside class="factbox" aria-labelledby="factbox-title">') == 1
    return html.split('<aside class="factbox"', 1)[1].split("</aside>", 1)[0]


def fact(box: str, term: str) -> str:
    """The value of the panel's ``term``."""
    return box.split(f"<dt>{term}</dt>", 1)[1].split("</dd>", 1)[0]


def test_a_coupled_record_shows_what_it_is_coupled_to_and_its_last_synchronization_each_way(
    client: TestClient, coupler: Coupler, fabrikam: str
) -> None:
    coupling = coupler.status("CUSTOMER", fabrikam).coupling
    assert coupling is not None and coupling.to_integration_job is not None
    job = coupler.systems.store.jobs.get(coupling.to_integration_job)
    assert job is not None and job.finished_at is not None
    box = panel(client, fabrikam)
    assert '<h2 id="factbox-title">Dynamics 365 Sales</h2>' in box
    assert ">Coupled</span>" in fact(box, "Status")
    assert "<strong>Fabrikam, Inc.</strong>" in fact(box, "Coupled Account"), "no page to open in the demo: not a link"
    to = fact(box, "Last synchronization to Dynamics 365 Sales")
    assert f"{job.finished_at:%Y-%m-%d %H:%M} UTC" in to and "success" in to
    assert f'href="/jobs/{job.id}"' in to
    assert "never synchronized" in fact(box, "Last synchronization from Dynamics 365 Sales")
    assert "Open in" not in box
    assert "local" not in box and "integration" not in box


def test_a_record_that_is_not_coupled_says_so(client: TestClient) -> None:
    box = panel(client, "C00020")
    assert ">Not coupled</span>" in fact(box, "Status") and "nothing" in fact(box, "Coupled Account")
    assert "Last synchronization" not in box


def test_a_record_in_conflict_says_so(client: TestClient, conflict: str) -> None:
    box = panel(client, conflict)
    assert 'class="tag tag-warn" id="factbox-status">In conflict</span>' in box
    assert "conflict" in fact(box, "Last synchronization to Dynamics 365 Sales") + fact(
        box, "Last synchronization from Dynamics 365 Sales"
    )


def test_the_coupled_record_opens_in_the_other_system_where_it_has_a_page(
    client: TestClient, coupler: Coupler, fabrikam: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def record_url(spec: TableSpec, key: str) -> str:
        return f"https://sales.example.com/main.aspx?etn={spec.table}&id={key}"

    monkeypatch.setattr(coupler.systems.integration, "record_url", record_url)
    coupling = coupler.status("CUSTOMER", fabrikam).coupling
    assert coupling is not None
    url = f"https://sales.example.com/main.aspx?etn=account&amp;id={coupling.integration_key}"
    box = panel(client, fabrikam)
    assert f'<a href="{url}" target="_blank" rel="noopener noreferrer">Fabrikam, Inc.' in fact(box, "Coupled Account")
    assert (
        f'<a class="button secondary" href="{url}" target="_blank" rel="noopener noreferrer">Open in Dynamics 365 Sales'
        in box
    )
