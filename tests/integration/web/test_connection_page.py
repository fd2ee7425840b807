"""The Connection page in-process (TestClient on a private demo): both systems' health under their configured names,
the Enabled switch (off: a banner on every page, the pages, `coupler run` and `coupler sync` refuse with the reason;
on again: everything runs), and per mapping its last run, next run from the job queue's schedule and a history bar of
its recent jobs."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from starlette.testclient import TestClient
from typer.testing import CliRunner

from coupler.domain.errors import RetryableConnectorError
from coupler.domain.jobs import Counters, Job, JobKind
from coupler.entrypoints.cli.app import app as cli
from coupler.entrypoints.cli.shell import Exit
from coupler.entrypoints.web.app import create_app
from coupler.entrypoints.web.deps import WebState
from coupler.services.api import Coupler

from .conftest import BASE_URL

HTML = {"accept": "text/html"}


def page(client: TestClient, path: str = "/connection") -> str:
    response = client.get(path, headers=HTML)
    assert response.status_code == 200, response.text
    return response.text


def row(html: str, mapping: str) -> str:
    """The mapping's row of the page's table."""
    return html.split(f'<tr id="mapping-{mapping}">', 1)[1].split("</tr>", 1)[0]


def coupler_cli(*args: str) -> tuple[int, str]:
    """Run a `coupler` command in this process: its exit code (as the console script exits) and its output."""
    result = CliRunner().invoke(cli, list(args), prog_name="coupler", env={"COLUMNS": "200", "NO_COLOR": "1"})
    code = result.exception.code if isinstance(result.exception, Exit) else result.exit_code
    return code, result.output


# health ---------------------------------------------------------------------------------------------------------
def test_every_page_links_the_connection_page_and_it_shows_both_systems_answering(client: TestClient) -> None:
    assert 'href="/connection"' in page(client, "/")
    html = page(client)
    assert '<a href="/connection" aria-current="page">Connection</a>' in html
    assert "<h1>Connection: Business Central ⇄ Dynamics 365 Sales</h1>" in html
    health = html.split('<ul class="health"', 1)[1].split("</ul>", 1)[0]
    for name in ("Business Central", "Dynamics 365 Sales", "coupler&#39;s state store"):
        item = health.split(f'<strong class="health-name">{name}</strong>', 1)[1].split("</li>", 1)[0]
        assert "Answers" in item and "Does not answer" not in item
    assert "local" not in health and "integration" not in health


def test_a_system_that_does_not_answer_is_named_with_the_reason(
    client: TestClient, coupler: Coupler, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused() -> None:
        raise RetryableConnectorError("Dynamics 365 Sales does not answer: the connection was refused; try again later")

    monkeypatch.setattr(coupler.systems.integration, "ping", refused)
    state: WebState = client.app.state.web  # type: ignore[attr-defined]
    state._checked = None  # the check is kept a few seconds; this test does not wait for it
    html = page(client)
    health = html.split('<ul class="health"', 1)[1].split("</ul>", 1)[0]
    sales = health.split('<strong class="health-name">Dynamics 365 Sales</strong>', 1)[1].split("</li>", 1)[0]
    assert "Does not answer" in sales and "the connection was refused; try again later" in sales
    central = health.split('<strong class="health-name">Business Central</strong>', 1)[1].split("</li>", 1)[0]
    assert "Answers" in central and "Does not answer" not in central


# the Enabled switch ---------------------------------------------------------------------------------------------
def test_the_switch_needs_the_forms_csrf_token(client: TestClient, csrf: str, config: Path) -> None:
    refused = client.post("/connection/enabled", data={"enabled": "false"}, headers=HTML)
    assert refused.status_code == 403 and "CSRF token" in refused.text
    assert tomllib.loads(config.read_text(encoding="utf-8")).get("enabled", True) is True


def test_switched_off_nothing_runs_and_every_page_says_why_then_on_again(
    client: TestClient, csrf: str, config: Path, fabrikam: str, wait_task: Callable[[str], dict[str, object]]
) -> None:
    html = page(client)
    assert 'role="switch" aria-checked="true"' in html and "paused-banner" not in html
    off = client.post("/connection/enabled", data={"csrf_token": csrf, "enabled": "false"}, follow_redirects=False)
    assert off.status_code == 303 and off.headers["location"] == "/connection?switched=off"
    assert tomllib.loads(config.read_text(encoding="utf-8"))["enabled"] is False
    assert (config.parent / "coupler.toml.bak").exists(), "the previous file is kept"

    html = page(client, off.headers["location"])
    assert 'role="switch" aria-checked="false"' in html and '<input type="hidden" name="enabled" value="true">' in html
    assert "The connection is disabled: synchronization is paused." in html
    assert '<td class="next-run"><span class="tag tag-warn">Paused</span></td>' in row(html, "CUSTOMER")
    for path in ("/", "/mappings/CUSTOMER/records", f"/mappings/CUSTOMER/records/{fabrikam}", "/jobs"):
        banner = page(client, path).split('id="paused-banner">', 1)[1].split("</div>", 1)[0]
        assert "Synchronization is paused." in banner
        assert "between Business Central and Dynamics 365 Sales is disabled" in banner
        assert 'href="/connection"' in banner

    refused = client.post(
        "/mappings/CUSTOMER/sync", data={"csrf_token": csrf, "ref": fabrikam, "choice": "to-integration"}, headers=HTML
    )
    assert refused.status_code in (409, 422), refused.text
    assert "between Business Central and Dynamics 365 Sales is disabled" in refused.text
    background = client.post("/mappings/CUSTOMER/sync-modified", data={"csrf_token": csrf}, follow_redirects=False)
    task = wait_task(background.headers["location"].split("task=", 1)[1])
    assert task["state"] == "failed" and "Business Central and Dynamics 365 Sales is disabled" in str(task["error"])
    code, output = coupler_cli("run", "--once", "--config", str(config))
    assert code == 0 and "the connection is disabled; nothing ran" in output
    code, output = coupler_cli("sync", "CUSTOMER", fabrikam, "--config", str(config))
    assert code == 2 and "is disabled: nothing is synchronized or coupled until it is enabled again" in output, output

    on = client.post("/connection/enabled", data={"csrf_token": csrf, "enabled": "true"}, follow_redirects=False)
    assert on.headers["location"] == "/connection?switched=on"
    html = page(client, on.headers["location"])
    assert 'role="switch" aria-checked="true"' in html and "paused-banner" not in html
    assert "The connection is enabled: synchronization runs again." in html
    assert "paused-banner" not in page(client, "/")
    synced = client.post(
        "/mappings/CUSTOMER/sync", data={"csrf_token": csrf, "ref": fabrikam, "choice": "to-integration"}, headers=HTML
    )
    assert synced.status_code == 200 and "Synchronize now (CUSTOMER)" in synced.text
    code, output = coupler_cli("run", "--once", "--config", str(config))
    assert code == 0 and "disabled" not in output and "CUSTOMER" in output


# last run, history bar ------------------------------------------------------------------------------------------
def test_each_mapping_has_its_last_run_and_a_history_bar_of_its_recent_jobs(
    client: TestClient, coupler: Coupler
) -> None:
    html = page(client)
    assert "Never" in row(html, "CONTACT") and "No runs yet" in row(html, "CONTACT")
    start = datetime(2026, 12, 7, 21, 0, tzinfo=UTC)
    outcomes = [
        {"modified": 3, "failed": 1},
        {"modified": 2},
        {"modified": 1, "conflicts": 1},
        {"unchanged": 7},
    ]
    for n in range(24):  # more than the bar shows
        at = start + timedelta(minutes=n * 2)
        job = Job(
            id=f"contact-job-{n:02d}",
            mapping="CONTACT",
            kind=JobKind.INCREMENTAL if n % 5 else JobKind.MANUAL,
            direction="bidirectional",
            started_at=at,
            finished_at=at + timedelta(seconds=3),
            counters=Counters(**outcomes[n % 4]),
        )
        coupler.systems.store.jobs.add(job)
    contact = row(page(client), "CONTACT")
    blocks = re.findall(r'<a class="run run-(\w+)" href="/jobs/([\w-]+)" title="([^"]+)">', contact)
    assert len(blocks) == 20, "the last 20 jobs"
    assert [b[1] for b in blocks] == [f"contact-job-{n:02d}" for n in range(4, 24)], "oldest first"
    titles = {job_id: (kind, title) for kind, job_id, title in blocks}
    assert titles["contact-job-04"] == ("failed", "Mon 7 Dec 21:08 UTC: 3 synchronized, 1 failed")
    assert titles["contact-job-20"] == ("failed", "Mon 7 Dec 21:40 UTC, Synchronize now: 3 synchronized, 1 failed")
    assert titles["contact-job-21"] == ("succeeded", "Mon 7 Dec 21:42 UTC: 2 synchronized")
    assert titles["contact-job-22"] == ("conflicts", "Mon 7 Dec 21:44 UTC: 1 synchronized, 1 in conflict")
    assert titles["contact-job-23"] == ("nothing", "Mon 7 Dec 21:46 UTC: 7 unchanged")
    assert f'<span class="visually-hidden">{titles["contact-job-22"][1]}</span>' in contact, "read out, not a colour"
    last = contact.split('<td class="last-run">', 1)[1].split("</td>", 1)[0]
    assert "2026-12-07 21:46 UTC" in last and "Nothing to do" in last and 'href="/jobs/contact-job-23"' in last
    assert "Not scheduled" in contact and "Runs when started" in contact, "the demo has no job queue"
    assert "No job queue is set up for this connection" in page(client)


# next run, from the job queue's schedule ------------------------------------------------------------------------
@pytest.fixture
def queued(config: Path, pg_url: sa.URL) -> Iterator[FastAPI]:
    """The demo with its state store in PostgreSQL and a job queue: every 10 minutes, backing off to every hour
    after 2 runs that find nothing; CONTACT is not scheduled."""
    text = config.read_text(encoding="utf-8")
    url = pg_url.render_as_string(hide_password=False)
    text = re.sub(r'^state = ".*"$', f'state = "{url}"', text, count=1, flags=re.MULTILINE)
    text += '\n[queue]\nevery = "10m"\nidle_after = 2\nidle_every = "1h"\n\n[queue.mappings.CONTACT]\nenabled = false\n'
    config.write_text(text, encoding="utf-8")
    yield create_app(config)


def test_the_next_run_comes_from_the_schedule_and_backs_off_while_a_mapping_finds_nothing(queued: FastAPI) -> None:
    with TestClient(queued, base_url=BASE_URL) as client:
        state: WebState = client.app.state.web  # type: ignore[attr-defined]
        coupler = state.coupler
        html = page(client)
        assert "Due now" in row(html, "CURRENCY") and "Every 10 minutes; every 1 hour after 2 runs in a row" in html
        assert "Not scheduled" in row(html, "CONTACT") and "Not scheduled: runs when started" in row(html, "CONTACT")
        assert "No job queue is set up" not in html

        [report] = coupler.sync_modified(["CURRENCY"])
        due = report.job.started_at + timedelta(minutes=10)
        currency = row(page(client), "CURRENCY")
        assert f"{due:%Y-%m-%d %H:%M} UTC, in 10 minutes" in currency and "backed off" not in currency

        for _ in range(2):  # nothing changed: two runs that find nothing
            [report] = coupler.sync_modified(["CURRENCY"])
        due = report.job.started_at + timedelta(hours=1)
        currency = row(page(client), "CURRENCY")
        assert f"{due:%Y-%m-%d %H:%M} UTC, in 1 hour" in currency and "backed off" in currency, currency


def test_while_a_system_does_not_answer_the_page_names_it_and_the_switch_still_works(config: Path) -> None:
    (config.parent / "crm.db").write_bytes(b"not a database " * 100)  # coupler cannot open it at start-up
    with TestClient(create_app(config), base_url=BASE_URL) as client:
        html = page(client)
        health = html.split('<ul class="health"', 1)[1].split("</ul>", 1)[0]
        sales = health.split('<strong class="health-name">Dynamics 365 Sales</strong>', 1)[1].split("</li>", 1)[0]
        assert "Does not answer" in sales and "file is not a database" in sales
        main = html.split('<main id="main"', 1)[1]
        assert main.count("file is not a database") == 1, "said once on the page, beside the system"
        central = health.split('<strong class="health-name">Business Central</strong>', 1)[1].split("</li>", 1)[0]
        assert "Answers" in central and "Does not answer" not in central
        client.get("/login")
        csrf = client.cookies["coupler_csrf"]
        # the state store answers: the app opens without the systems' check, and the runs are still shown
        assert "mapping-CUSTOMER" in html
        off = client.post("/connection/enabled", data={"csrf_token": csrf, "enabled": "false"}, follow_redirects=False)
        assert off.status_code == 303
        assert tomllib.loads(config.read_text(encoding="utf-8"))["enabled"] is False
        assert "Synchronization is paused." in page(client, off.headers["location"])
