"""Benchmark: HTTP requests per 1,000 records synchronized over the Dataverse and Business Central test servers.

    python bench/http_benchmark.py [--rows 10000] [--dir /tmp/coupler-http-bench]

Builds an ERP SQLite database of N Business Central-like customers and an empty CRM account table (the same
builders as sync_benchmark.py), serves them behind the local Business Central and Dataverse servers (sign-in through
the OAuth stub with msal, over TLS) and measures, counting the requests each server answered:

(b) a full synchronization into the empty CRM (create and couple every customer);
(c) an incremental synchronization after every customer changed in the ERP;
(d) an incremental synchronization after 1% of the pairs changed on each side;
(e) an incremental synchronization with nothing changed.

For each: requests per server, requests per 1,000 records synchronized (target <= 5), time, and whether the run
stayed under the service-protection limits by itself: at most 6000 requests in any 300 s window per server, and at
most 52 (Dataverse) / 5 (Business Central) requests in flight at once. The token endpoint's requests are counted
apart (msal caches the token). The servers enforce no limits: what is measured is coupler's own pacing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import threading
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coupler.bootstrap import open_coupler
from coupler.testing import (
    BcCompany,
    BcTable,
    DataverseTable,
    ServedUrl,
    TlsFiles,
    TokenIssuer,
    business_central_app,
    dataverse_app,
    make_tls_files,
    oauth_app,
    serve,
)
from sync_benchmark import FIELDS, build_crm, build_erp

TENANT = "7f0c2a51-1d9e-4c8a-9a51-3c0de00000be"
DV_CLIENT, BC_CLIENT = "0d4e7a8b-0000-4000-8000-0000000bench", "0b0c0000-0000-4000-8000-0000000bench"
SECRETS = {"BENCH_DATAVERSE_SECRET": "bench-dv-secret", "BENCH_BC_SECRET": "bench-bc-secret"}
COMPANY = BcCompany(id="5e1f0c2a-0000-4000-8000-00000000c0de", name="CRONUS Bench")
WINDOW, LIMIT = 300.0, 6000
CONCURRENCY = {"Dataverse": 52, "Business Central": 5}
TARGET = 5.0

ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


@dataclass
class Meter:
    """Wraps an ASGI app: when each request started, and the most requests in flight at once."""

    starts: list[float] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def metered(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            with self.lock:
                self.starts.append(time.monotonic())
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
            try:
                await app(scope, receive, send)
            finally:
                with self.lock:
                    self.in_flight -= 1

        return metered

    def reset(self) -> None:
        with self.lock:
            self.starts.clear()
            self.peak = self.in_flight

    def busiest_window(self) -> int:
        """The most requests that started within any WINDOW seconds."""
        starts = sorted(self.starts)
        return max((i + 1 - bisect_left(starts, t - WINDOW, 0, i + 1) for i, t in enumerate(starts)), default=0)


def write_config(
    directory: Path, *, erp: str, crm: str, oauth: str, ca_file: Path, batch_size: int | None = None
) -> Path:
    """The benchmark's coupler.toml; ``batch_size`` None leaves ``[sync] batch_size`` unset (coupler's default page:
    1,000 records per request a system sends at once)."""
    fields = ",\n  ".join(f'{{ local = "{a}", integration = "{b}" }}' for a, b in FIELDS)

    def sign_in(client: str, secret: str) -> str:
        return (
            f'tenant_id = "{TENANT}"\nclient_id = "{client}"\nclient_secret = "${{{secret}}}"\n'
            f'authority = "{oauth}"\nverify = "{ca_file}"'
        )

    local, integration = sign_in(BC_CLIENT, "BENCH_BC_SECRET"), sign_in(DV_CLIENT, "BENCH_DATAVERSE_SECRET")
    text = f"""
state = "sqlite:///state.db"
[sync]
{"" if batch_size is None else f"batch_size = {batch_size}"}
[local]
name = "Business Central"
kind = "business-central"
url = "{erp}/v2.0/{TENANT}/production/api/v2.0"
company = "{COMPANY.name}"
{local}
[integration]
name = "Dataverse"
kind = "dataverse"
url = "{crm}"
{integration}
[[mappings]]
name = "CUSTOMER"
direction = "bidirectional"
local = {{ table = "customers", key = "id", display_key = "number", modified_on = "lastModifiedDateTime" }}
integration = {{ table = "accounts", key = "accountid", display_key = "name", modified_on = "modifiedon" }}
fields = [
  {fields},
  {{ local = "number", integration = "accountnumber", direction = "to-integration" }},
]
"""
    path = directory / "coupler.toml"
    path.write_text(text, encoding="utf-8")
    return path


def apps(
    directory: Path, *, bc: Mapping[str, Any] | None = None, dv: Mapping[str, Any] | None = None
) -> tuple[TokenIssuer, TlsFiles, Any, Any]:
    """The benchmarks' sign-in (the OAuth stub's issuer), TLS files, and Business Central and Dataverse apps over
    ``erp.db`` and ``crm.db`` in ``directory``; ``bc`` and ``dv``: more options of each app (a service model, the
    webhooks' settings)."""
    issuer = TokenIssuer(
        tenant_id=TENANT, clients={DV_CLIENT: SECRETS["BENCH_DATAVERSE_SECRET"], BC_CLIENT: SECRETS["BENCH_BC_SECRET"]}
    )
    tls = make_tls_files(directory / "tls")
    erp = business_central_app(
        f"sqlite:///{directory / 'erp.db'}",
        companies=[COMPANY],
        tables={"customers": BcTable(table="customers", entity_type="customer")},
        auth=issuer,
        **(bc or {}),
    )
    crm = dataverse_app(
        f"sqlite:///{directory / 'crm.db'}",
        tables={"accounts": DataverseTable(table="account", key="accountid", primary_name="name")},
        auth=issuer,
        **(dv or {}),
    )
    return issuer, tls, erp, crm


@contextmanager
def servers(directory: Path) -> Iterator[tuple[dict[str, ServedUrl], dict[str, Meter], ServedUrl, Path]]:
    issuer, tls, bc, dv = apps(directory)
    meters = {"Business Central": Meter(), "Dataverse": Meter()}
    with ExitStack() as stack:
        oauth = stack.enter_context(serve(oauth_app(issuer), tls=tls))
        urls = {
            "Business Central": stack.enter_context(serve(meters["Business Central"].wrap(bc))),
            "Dataverse": stack.enter_context(serve(meters["Dataverse"].wrap(dv))),
        }
        yield urls, meters, oauth, tls.ca_file


def change(db: Path, sql: str) -> int:
    connection = sqlite3.connect(db, timeout=30)
    try:
        changed = connection.execute(sql).rowcount
        connection.commit()
        return changed
    finally:
        connection.close()


def measure(directory: Path, rows: int, batch_size: int | None) -> list[dict[str, Any]]:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    build_erp(directory / "erp.db", rows)
    build_crm(directory / "crm.db")
    os.environ.update(SECRETS)
    results: list[dict[str, Any]] = []
    with servers(directory) as (urls, meters, oauth, ca_file):
        config = write_config(
            directory,
            erp=urls["Business Central"],
            crm=urls["Dataverse"],
            oauth=oauth,
            ca_file=ca_file,
            batch_size=batch_size,
        )
        with open_coupler(config) as coupler:

            def run(name: str, action: Callable[[], Any], records: int) -> None:
                for url in urls.values():
                    url.reset_count()
                for meter in meters.values():
                    meter.reset()
                started = time.perf_counter()
                reports = action()
                seconds = time.perf_counter() - started
                reports = reports if isinstance(reports, list) else [reports]
                failed = sum(r.job.counters.failed for r in reports)
                synced = sum(r.job.counters.inserted + r.job.counters.modified for r in reports)
                served = {name: url.requests_served for name, url in urls.items()}
                total = sum(served.values())
                results.append(
                    {
                        "run": name,
                        "records": synced,
                        "expected": records,
                        "failed": failed,
                        "requests": served,
                        "per_1000": 1000 * total / synced if synced else None,
                        "seconds": seconds,
                        "busiest_300s": {n: m.busiest_window() for n, m in meters.items()},
                        "peak_in_flight": {n: m.peak for n, m in meters.items()},
                    }
                )

            run("(b) full sync", lambda: coupler.sync_full("CUSTOMER"), rows)
            change(directory / "erp.db", "UPDATE customers SET city = city || ' N'")
            run("(c) incremental, every customer changed in the ERP", coupler.sync_modified, rows)
            step = 100
            change(
                directory / "erp.db", f"UPDATE customers SET phoneNumber = phoneNumber || '0' WHERE rowid % {step} = 1"
            )
            change(directory / "crm.db", f"UPDATE account SET websiteurl = websiteurl || '/x' WHERE rowid % {step} = 2")
            run("(d) incremental, 1% changed on each side", coupler.sync_modified, 2 * rows // step)
            run("(e) incremental, nothing changed", coupler.sync_modified, 0)
        results.append({"token_requests_in_all": oauth.requests_served})
    return results


def report(results: list[dict[str, Any]], rows: int) -> bool:
    print(f"HTTP requests per 1,000 records synchronized, {rows:,} customers (target <= {TARGET:g})")
    ok = True
    *runs, tokens = results
    for r in runs:
        per = "-" if r["per_1000"] is None else f"{r['per_1000']:.2f}"
        within = all(r["busiest_300s"][n] <= LIMIT and r["peak_in_flight"][n] <= CONCURRENCY[n] for n in CONCURRENCY)
        meets = r["per_1000"] is None or r["per_1000"] <= TARGET
        ok = ok and within and meets and r["records"] == r["expected"] and not r["failed"]
        print(
            f"{r['run']}: {r['records']:,} records ({r['failed']} failed) in {r['seconds']:.1f} s; requests: "
            + ", ".join(f"{n} {c}" for n, c in r["requests"].items())
            + f"; per 1,000 records: {per}"
            + ("" if meets else " (target NOT met)")
        )
        print(
            "    service protection: busiest 300 s "
            + ", ".join(f"{n} {c}/{LIMIT}" for n, c in r["busiest_300s"].items())
            + "; most in flight "
            + ", ".join(f"{n} {c}/{CONCURRENCY[n]}" for n, c in r["peak_in_flight"].items())
            + ("; within the limits" if within else "; OVER the limits")
        )
    token_requests = tokens["token_requests_in_all"]
    print(f"token endpoint, whole benchmark: {token_requests} (per client: discovery and one token, msal caches it)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=None, help="the config's [sync] batch_size (default: unset)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/coupler-http-bench"))
    args = parser.parse_args()
    results = measure(args.dir, args.rows, args.batch_size)
    return 0 if report(results, args.rows) else 1


if __name__ == "__main__":
    sys.exit(main())
