"""Benchmark: how close coupler comes to the throughput Dataverse's and Business Central's limits allow.

    python bench/http_parallel.py [--rows 10000] [--sequential-rows 2000] [--dop-hint 4] [--dir /tmp/coupler-par]

The test servers model service time (``coupler.testing.ServiceModel``): a cost per request, per record read and per
record written, the requests each service processes at once (Dataverse: the ``x-ms-dop-hint`` it recommends, at
most 52; Business Central: 5, more wait in its queue), 6,000 requests per 5 minutes and, for Dataverse, 1,200 s of
execution time per 5 minutes. The costs are scaled so that the modelled services, not this machine, set the pace
(defaults: a request 50 ms, a record written 10 ms, a record read 0.2 ms; a real CreateMultiple of 1,000 accounts
takes seconds too). Three runs, each with coupler sending in parallel and again one request at a time (the
sequential figure, on ``--sequential-rows`` records to keep it short):

(a) full synchronization Business Central -> Dataverse of N new customers;
(b) incremental run after 5% of them changed in Business Central;
(c) full synchronization Dataverse -> Business Central of N new accounts.

For each: records per second measured, and the most the model allows for the work coupler asked of it: the
modelled execution time of every request, divided by the requests each service processes at once, is a lower
bound on the run's time (reads that follow ``@odata.nextLink`` count as if they too could go in parallel, so the
bound is strict); the windows' budgets bound it too. Target: >= 80% of it. Also printed: the textbook write limit of
each service, in-flight x rows per request / (per-request + rows x per-row cost).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coupler.adapters.connectors.kinds import http_service
from coupler.bootstrap import open_coupler
from coupler.testing import (
    ServiceModel,
    oauth_app,
    serve,
)
from http_benchmark import SECRETS, apps, change, write_config
from sync_benchmark import FIELDS, _table, build_crm, build_erp

TARGET = 0.8


@dataclass(frozen=True)
class Costs:
    per_request: float
    per_read_row: float
    per_write_row: float
    dop_hint: int

    def models(self) -> dict[str, ServiceModel]:
        kw = {"per_request": self.per_request, "per_read_row": self.per_read_row, "per_write_row": self.per_write_row}
        return {
            "Business Central": ServiceModel.business_central(**kw),
            "Dataverse": ServiceModel.dataverse(dop_hint=self.dop_hint, **kw),
        }


def build_accounts(path: Path, rows: int) -> None:
    """A CRM with ``rows`` accounts (for the synchronization from Dataverse to Business Central)."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    columns = ["accountnumber", *(i for _, i in FIELDS)]
    _table(db, "account", "accountid", columns, "modifiedon")
    rng = random.Random(2)
    values = (
        (
            *(str(uuid.UUID(int=rng.getrandbits(128))), "", f"Account {n} Inc", f"{n} High Street", "", "Oslo", ""),
            *("NO", f"{2000 + n % 7999}", f"+47 {n:08d}", f"mail{n}@example.org", f"https://a{n}.example.org"),
        )
        for n in range(rows)
    )
    marks = ", ".join("?" * (len(columns) + 1))
    db.executemany(f"INSERT INTO account (accountid, {', '.join(columns)}) VALUES ({marks})", values)
    db.commit()
    db.close()


def build_customers_empty(path: Path) -> None:
    build_erp(path, 0)


@contextmanager
def served(directory: Path, models: dict[str, ServiceModel]) -> Iterator[dict[str, str]]:
    issuer, tls, bc, dv = apps(directory, bc={"model": models["Business Central"]}, dv={"model": models["Dataverse"]})
    with ExitStack() as stack:
        oauth = stack.enter_context(serve(oauth_app(issuer), tls=tls))
        erp = stack.enter_context(serve(bc))
        crm = stack.enter_context(serve(dv))
        config = write_config(directory, erp=erp, crm=crm, oauth=oauth, ca_file=tls.ca_file)
        yield {"config": str(config)}


@contextmanager
def one_at_a_time(sequential: bool) -> Iterator[None]:
    """Sequential: every client built with one request in flight (today's behaviour before parallel requests)."""
    original = http_service.HttpServiceSettings.client
    if sequential:

        def client(self: Any, base_url: str, *, auth: Any, headers: Any, concurrency: int) -> Any:
            return original(self, base_url, auth=auth, headers=headers, concurrency=1)

        http_service.HttpServiceSettings.client = client  # type: ignore[method-assign]
    try:
        yield
    finally:
        http_service.HttpServiceSettings.client = original  # type: ignore[method-assign]


def bound(models: dict[str, ServiceModel], seconds_measured: float) -> dict[str, Any]:
    """The shortest time the model allows for the work done: each service's execution time over the requests it
    processes at once, and the windows' budgets (a run longer than a window gets another budget)."""
    floors = {}
    for name, model in models.items():
        width = min(model.concurrency, model.dop_hint or model.concurrency)
        floor = model.execution / width
        windows = max(1.0, seconds_measured / model.window)
        if model.execution_budget is not None and model.execution > model.execution_budget * windows:
            floor = max(floor, (model.execution / model.execution_budget - 1) * model.window)
        if model.served > model.requests * windows:
            floor = max(floor, (model.served / model.requests - 1) * model.window)
        floors[name] = floor
    return floors


def write_limit(costs: Costs, model: ServiceModel, rows_per_request: int) -> float:
    width = min(model.concurrency, model.dop_hint or model.concurrency)
    per_request = costs.per_request + rows_per_request * costs.per_write_row
    by_time = width * rows_per_request / per_request
    by_requests = model.requests / model.window * rows_per_request
    limits = [by_time, by_requests]
    if model.execution_budget is not None:
        limits.append(model.execution_budget / model.window * rows_per_request / per_request)
    return min(limits)


def measure(directory: Path, rows: int, costs: Costs, *, sequential: bool, way: str) -> list[dict[str, Any]]:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    if way == "to-dataverse":
        build_erp(directory / "erp.db", rows)
        build_crm(directory / "crm.db")
    else:
        build_customers_empty(directory / "erp.db")
        build_accounts(directory / "crm.db", rows)
    os.environ.update(SECRETS)
    models = costs.models()
    results: list[dict[str, Any]] = []
    with one_at_a_time(sequential), served(directory, models) as places, open_coupler(Path(places["config"])) as cp:

        def run(name: str, action: Callable[[], Any], expected: int) -> None:
            for model in models.values():
                model.reset()
            started = time.perf_counter()
            reports = action()
            seconds = time.perf_counter() - started
            reports = reports if isinstance(reports, list) else [reports]
            synced = sum(r.job.counters.inserted + r.job.counters.modified for r in reports)
            failed = sum(r.job.counters.failed for r in reports)
            floors = bound(models, seconds)
            allowed = synced / max(floors.values()) if max(floors.values()) > 0 else float("inf")
            results.append(
                {
                    "run": name,
                    "records": synced,
                    "expected": expected,
                    "failed": failed,
                    "seconds": seconds,
                    "rate": synced / seconds if seconds else 0.0,
                    "allowed": allowed,
                    "floors": floors,
                    "peak": {n: m.peak_in_flight for n, m in models.items()},
                    "requests": {n: m.served for n, m in models.items()},
                    "refused": {n: sum(m.refused.values()) for n, m in models.items()},
                    "execution": {n: m.execution for n, m in models.items()},
                }
            )

        if way == "to-dataverse":
            run("(a) full, Business Central -> Dataverse", lambda: cp.sync_full("CUSTOMER"), rows)
            step = 20
            change(directory / "erp.db", f"UPDATE customers SET city = city || ' N' WHERE rowid % {step} = 1")
            run("(b) incremental, 5% changed", cp.sync_modified, rows // step)
        else:
            run("(c) full, Dataverse -> Business Central", lambda: cp.sync_full("CUSTOMER"), rows)
    return results


def report(costs: Costs, parallel: list[dict[str, Any]], sequential: list[dict[str, Any]], rows: int) -> bool:
    models = costs.models()
    print(
        f"Modelled services: {costs.per_request * 1000:g} ms a request, {costs.per_write_row * 1000:g} ms a record "
        f"written, {costs.per_read_row * 1000:g} ms a record read; Dataverse x-ms-dop-hint {costs.dop_hint} (of 52), "
        "Business Central 5 at once; 6,000 requests / 5 min each, Dataverse 1,200 s execution / 5 min"
    )
    for name, model in models.items():
        per = 1000 if name == "Dataverse" else 100
        print(
            f"  textbook write limit, {name}: {write_limit(costs, model, per):,.0f} records/s in requests of {per} "
            f"({write_limit(costs, model, 200):,.0f} in requests of 200)"
        )
    ok = True
    by_name = {r["run"]: r for r in sequential}
    for r in parallel:
        share = r["rate"] / r["allowed"] if r["allowed"] else 0.0
        meets = share >= TARGET and r["records"] == r["expected"] and not r["failed"]
        ok = ok and meets
        seq = by_name.get(r["run"])
        seq_text = (
            f"sequential {seq['rate']:,.0f} records/s ({seq['records']:,} records in {seq['seconds']:.1f} s, "
            f"{seq['rate'] / seq['allowed']:.0%} of its bound)"
            if seq
            else "sequential not measured"
        )
        print(
            f"{r['run']}: {r['records']:,} records ({r['failed']} failed) in {r['seconds']:.1f} s = "
            f"{r['rate']:,.0f} records/s; the model allows {r['allowed']:,.0f} records/s: {share:.0%}"
            + ("" if meets else " (target 80% NOT met)")
            + f"; {seq_text}"
        )
        print(
            "    "
            + "; ".join(
                f"{n}: {r['requests'][n]} requests, {r['execution'][n]:.1f} s modelled execution, bound "
                f"{r['floors'][n]:.1f} s, most in flight {r['peak'][n]}, refused {r['refused'][n]}"
                for n in r["requests"]
            )
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--sequential-rows", type=int, default=2_000)
    parser.add_argument("--per-request", type=float, default=0.05)
    parser.add_argument("--per-write-row", type=float, default=0.01)
    parser.add_argument("--per-read-row", type=float, default=0.0002)
    parser.add_argument("--dop-hint", type=int, default=4)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/coupler-http-parallel"))
    args = parser.parse_args()
    costs = Costs(args.per_request, args.per_read_row, args.per_write_row, args.dop_hint)
    parallel, sequential = [], []
    for way in ("to-dataverse", "to-business-central"):
        parallel += measure(args.dir, args.rows, costs, sequential=False, way=way)
        if args.sequential_rows:
            sequential += measure(args.dir, args.sequential_rows, costs, sequential=True, way=way)
    print(f"{args.rows:,} records each way (sequential: {args.sequential_rows:,})")
    return 0 if report(costs, parallel, sequential, args.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
