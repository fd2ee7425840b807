"""Benchmark: how long an edit in Business Central takes to reach Dataverse through webhooks (issue 14).

    python bench/webhook_latency.py [--edits 200] [--rows 2000] [--delay 1] [--every 0.1] [--dir /tmp/coupler-hooks]

Serves N customers behind the local Business Central server and an account table behind the Dataverse server (the
sign-in, TLS and mapping of http_benchmark.py), couples them with a full synchronization, then starts `coupler serve`'s
web app (in this process, on a free port) with ``[hooks]``: it subscribes Business Central's customers at its
``/hooks/local`` (the handshake answered), and each edit's notification becomes a targeted synchronization.

Then ``--edits`` customers are edited through Business Central's API, one every ``--every`` seconds, and each one's
latency is the time from its PATCH to the new value being in Dataverse's database. Business Central sends its
notifications ``--delay`` seconds after the first change (30 s online, configurable on-premises:
ApiSubscriptionDelayTime); coupler gathers them for its ``window`` (1 s) before synchronizing. Prints p50, p95 and
the worst latency (target: p95 under 5 s on this machine; Business Central's own default schedule is 30 minutes).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sqlite3
import statistics
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import uvicorn

from coupler.bootstrap import open_coupler
from coupler.entrypoints.web.app import create_app
from coupler.testing import (
    BcTable,
    DataverseTable,
    TokenIssuer,
    business_central_app,
    dataverse_app,
    make_tls_files,
    oauth_app,
    serve,
)
from coupler.testing.business_central.webhooks import HookSettings
from http_benchmark import BC_CLIENT, COMPANY, DV_CLIENT, SECRETS, TENANT, write_config
from sync_benchmark import build_crm, build_erp

TARGET_P95 = 5.0
HOOK_SECRET = "bench-webhooks-shared-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def city_of(crm: Path, keys: list[str]) -> dict[str, str]:
    db = sqlite3.connect(crm, timeout=30)
    try:
        marks = ",".join("?" * len(keys))
        return dict(
            db.execute(f"SELECT accountnumber, address1_city FROM account WHERE accountnumber IN ({marks})", keys)
        )
    finally:
        db.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--delay", type=float, default=1.0, help="Business Central's delay before notifying (s)")
    parser.add_argument("--every", type=float, default=0.1, help="seconds between two edits")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/coupler-hooks-bench"))
    args = parser.parse_args()
    directory: Path = args.dir
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    build_erp(directory / "erp.db", args.rows)
    build_crm(directory / "crm.db")
    os.environ.update(SECRETS)
    os.environ["COUPLER_HOOKS_SECRET"] = HOOK_SECRET
    issuer = TokenIssuer(
        tenant_id=TENANT, clients={DV_CLIENT: SECRETS["BENCH_DATAVERSE_SECRET"], BC_CLIENT: SECRETS["BENCH_BC_SECRET"]}
    )
    tls = make_tls_files(directory / "tls")
    bc = business_central_app(
        f"sqlite:///{directory / 'erp.db'}",
        companies=[COMPANY],
        tables={"customers": BcTable(table="customers", entity_type="customer")},
        auth=issuer,
        hooks=HookSettings(delay=args.delay),
    )
    dv = dataverse_app(
        f"sqlite:///{directory / 'crm.db'}",
        tables={"accounts": DataverseTable(table="account", key="accountid", primary_name="name")},
        auth=issuer,
    )
    with ExitStack() as stack:
        oauth = stack.enter_context(serve(oauth_app(issuer), tls=tls))
        erp, crm = stack.enter_context(serve(bc)), stack.enter_context(serve(dv))
        config = write_config(directory, erp=erp, crm=crm, oauth=oauth, ca_file=tls.ca_file, batch_size=1000)
        port = free_port()
        hooks = f'\n[hooks]\nurl = "http://127.0.0.1:{port}"\nsecret = "${{COUPLER_HOOKS_SECRET}}"\nwindow = "1s"\n'
        with config.open("a", encoding="utf-8") as file:
            file.write(hooks)
        started = time.perf_counter()
        with open_coupler(config) as coupler:
            assert coupler.sync_full("CUSTOMER").ok
        print(f"{args.rows} customers coupled in {time.perf_counter() - started:.1f} s", file=sys.stderr)

        server = uvicorn.Server(
            uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning", log_config=None)
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        stack.callback(thread.join, 30)
        stack.callback(setattr, server, "should_exit", True)
        deadline = time.monotonic() + 60
        while not bc.server.hooks.subscriptions:  # `coupler serve` subscribes on its first check
            if time.monotonic() > deadline:
                print("coupler serve did not subscribe within 60 s", file=sys.stderr)
                return 1
            time.sleep(0.1)

        token = issuer.issue(BC_CLIENT, SECRETS["BENCH_BC_SECRET"], "https://api.businesscentral.dynamics.com/.default")
        root = f"{erp}/v2.0/{TENANT}/production/api/v2.0/companies({COMPANY.id})/"
        api = stack.enter_context(httpx.Client(base_url=root, headers={"Authorization": f"Bearer {token}"}))
        customers = api.get("customers", params={"$select": "id,number", "$top": str(args.edits)}).json()["value"]
        edited: dict[str, tuple[str, float]] = {}
        arrived: dict[str, float] = {}

        def watch() -> None:
            while len(arrived) < len(customers):
                pending = [n for n in edited if n not in arrived]
                if pending:
                    now = time.perf_counter()
                    for number, city in city_of(directory / "crm.db", pending).items():
                        if city == edited[number][0]:
                            arrived[number] = now
                time.sleep(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        for index, customer in enumerate(customers):
            city = f"Hooked {index}"
            edited[customer["number"]] = (city, time.perf_counter())
            answer = api.patch(f"customers({customer['id']})", json={"city": city}, headers={"If-Match": "*"})
            answer.raise_for_status()
            time.sleep(args.every)
        watcher.join(timeout=60 + args.delay * 2)
        latencies = [arrived[n] - at for n, (_, at) in edited.items() if n in arrived]
        bc.server.hooks.close()
    lost = len(edited) - len(latencies)
    if not latencies:
        print("no edit arrived", file=sys.stderr)
        return 1
    p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    print(f"edits: {len(edited)} (one every {args.every} s); Business Central notifies after {args.delay} s")
    print(f"arrived in Dataverse: {len(latencies)}, lost: {lost}")
    print(f"latency p50 {p50:.2f} s, p95 {p95:.2f} s, worst {max(latencies):.2f} s (target p95 < {TARGET_P95} s)")
    return 0 if p95 < TARGET_P95 and not lost else 1


if __name__ == "__main__":
    raise SystemExit(main())
