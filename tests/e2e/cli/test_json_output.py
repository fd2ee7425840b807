"""The CLI's --json prints the REST API's models. On one demo holding couplings, a parked conflict, a pending
deletion and a skipped record, each command's JSON validates exactly (nothing missing, nothing extra) against the
model the API answers for the same result, and a command that reads prints what the API answers on the same state."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from coupler.entrypoints.schemas.attention import ConflictOut, DeletionOut, SkippedOut
from coupler.entrypoints.schemas.check import CheckOut
from coupler.entrypoints.schemas.jobs import JobErrorOut, JobOut, JobReportOut, RoundOut
from coupler.entrypoints.schemas.mappings import MappingOut, RecommendationOut
from coupler.entrypoints.schemas.records import RecordStatusOut
from coupler.entrypoints.web.app import create_app

from .support import Demo

with warnings.catch_warnings():  # Starlette 1.x prefers the httpx2 package; httpx 0.28 works the same for tests
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

# one worker runs the module: its set-up (a module fixture) then runs once, not once per worker
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-cli-json-output")]


@dataclass(kw_only=True)
class Scene:
    """The demo after the commands that run jobs, what they printed, and the REST API on the same files."""

    demo: Demo
    conflicted: str
    printed: dict[str, Any] = field(default_factory=dict)
    api: TestClient | None = None

    def get(self, path: str) -> Any:
        assert self.api is not None
        response = self.api.get(path)
        assert response.status_code == 200, response.text
        return response.json()


def exactly(shape: Any, data: Any) -> Any:
    """``data`` is ``shape`` and nothing else: it validates, and dumping what it validated to gives it back."""
    adapter: TypeAdapter[Any] = TypeAdapter(shape)
    assert adapter.dump_python(adapter.validate_python(data), mode="json") == data
    return data


@pytest.fixture(scope="module")
def scene(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    demo = Demo(directory=Path(shutil.copytree(demo_template, tmp_path_factory.mktemp("json") / "demo")))
    demo.configure("CUSTOMER", "delete", "propagate")
    (conflicted, name), (deleted, other) = demo.matched_customers()[:2]
    account, gone = demo.account(name)["accountid"], demo.account(other)["accountid"]
    scene = Scene(demo=demo, conflicted=conflicted)
    scene.printed["match"] = demo.coupler("match", "SALESPEOPLE", "--sync-after", "integration", "--json").json()
    demo.coupler("match", "CURRENCY", expect=1)
    demo.coupler("sync", "CURRENCY", "--full")
    scene.printed["couple"] = demo.coupler("couple", "CUSTOMER", conflicted, name, "--json").json()
    demo.coupler("match", "CUSTOMER", expect=None)  # the other customers of the same name as an account
    for _ in range(2):  # the CRM's account whose name is too long for the ERP fails twice: skipped
        scene.printed["full"] = demo.coupler("sync", "CUSTOMER", "--full", "--json", expect=1).json()
    demo.execute(demo.erp, "UPDATE customers SET city = 'York' WHERE number = ?", (conflicted,))
    demo.execute(demo.crm, "UPDATE account SET address1_city = 'Hull' WHERE accountid = ?", (account,))
    demo.execute(demo.crm, "DELETE FROM account WHERE accountid = ?", (gone,))
    demo.execute(demo.erp, "UPDATE customers SET city = 'Leeds' WHERE number = ?", (deleted,))
    scene.printed["sync"] = demo.coupler("sync", "CUSTOMER", "--json", expect=1).json()
    scene.printed["run"] = demo.coupler("run", "--once", "--json", expect=None).stdout
    with TestClient(create_app(demo.config), base_url="http://127.0.0.1") as api:
        scene.api = api
        yield scene


def test_a_job_report_is_the_api_job_report(scene: Scene) -> None:
    for name in ("match", "couple", "full"):
        report = exactly(JobReportOut, scene.printed[name])
        logged = scene.get(f"/api/jobs/{report['job']['id']}")
        assert {k: logged[k] for k in ("ok", "summary", "job")} == {k: report[k] for k in ("ok", "summary", "job")}
        exactly(list[JobErrorOut], logged["errors"])
    reports = exactly(list[JobReportOut], scene.printed["sync"])
    assert {r["job"]["mapping"] for r in reports} == {"CUSTOMER"}


def test_a_round_of_run_holds_job_reports(scene: Scene) -> None:
    [line] = scene.printed["run"].splitlines()
    round_ = exactly(RoundOut, TypeAdapter(Any).validate_json(line))
    assert any(run["report"] is not None for run in round_["mappings"])


@pytest.mark.parametrize(
    ("command", "path", "shape"),
    [
        (("jobs",), "/api/jobs", list[JobOut]),
        (("errors",), "/api/errors?limit=50", list[JobErrorOut]),
        (("mappings",), "/api/mappings", list[MappingOut]),
        (("review",), "/api/review", list[RecommendationOut]),
        (("conflicts",), "/api/conflicts?limit=1000", list[ConflictOut]),
        (("skipped",), "/api/skipped", list[SkippedOut]),
        (("deletions",), "/api/deletions", list[DeletionOut]),
        (("status", "CUSTOMER", "{conflicted}"), "/api/mappings/CUSTOMER/records/{conflicted}", RecordStatusOut),
    ],
    ids=lambda value: value[0] if isinstance(value, tuple) else None,
)
def test_a_read_command_prints_what_the_api_answers(
    scene: Scene, command: tuple[str, ...], path: str, shape: Any
) -> None:
    args = [part.format(conflicted=scene.conflicted) for part in command]
    printed = exactly(shape, scene.demo.coupler(*args, "--json").json())
    assert printed, "the scene holds one at least"
    assert printed == scene.get(path.format(conflicted=scene.conflicted))


def test_the_check_prints_its_model(scene: Scene) -> None:
    report = exactly(CheckOut, scene.demo.coupler("check", "--json").json())
    assert report["ok"] is True and {s["role"] for s in report["systems"]} == {"local", "integration", "state"}
