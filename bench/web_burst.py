"""Benchmark: a burst of concurrent requests on the web app over a large demo, with the server's memory.

    python bench/web_burst.py [--rows 30000] [--requests 200] [--bursts 2] [--dir /tmp/coupler-webburst]

Builds the demo (``coupler demo``) with ``--rows`` more customers in the ERP and an account of the same name for all
but one in a hundred in the CRM, couples them with match-based coupling (coupler's own code), then starts
``coupler serve`` on loopback as a subprocess and fires ``--bursts`` bursts of ``--requests`` requests, all at once
(httpx, one connection each), over a mix of pages and API calls: table mappings, the mapping page, the records list
with every filter and a search, the record card, and their /api twins.

Prints per burst: the wall time, p50, p95 and the slowest latency (overall and per kind of request), the answers'
status codes, and the server's RSS (VmRSS from /proc) before the burst, at its peak during the burst (sampled every
20 ms, and VmHWM) and a few seconds after it. Nothing is asserted: the figures are for reading.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import statistics
import subprocess
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx

from web_pages import free_port, start_server  # the same `coupler serve` on loopback (bench/ is on the path)

MAPPING = "CUSTOMER"


# the data --------------------------------------------------------------------------------------------------------
def build(directory: Path, rows: int) -> Path:
    """The demo in ``directory`` with ``rows`` more customers, all but 1% of them with a same-named account, coupled
    by match-based coupling; returns the config's path."""
    from coupler.bootstrap import open_coupler
    from coupler.demo.create import create_demo

    shutil.rmtree(directory, ignore_errors=True)
    demo = create_demo(directory)
    rng = random.Random(5)
    cities = ["Copenhagen", "Seattle", "London", "Berlin", "Toronto", "Madrid", "Oslo", "Lyon"]
    customers, accounts = [], []
    for n in range(rows):
        name = f"Burst Customer {n:06d}"
        city = rng.choice(cities)
        customers.append((str(uuid.UUID(int=rng.getrandbits(128))), f"B{n:06d}", name, f"{n} Main Street", city))
        if n % 100 != 37:  # one in a hundred stays uncoupled, spread over the table
            accounts.append((str(uuid.UUID(int=rng.getrandbits(128))), name, f"{n} Main Street", city))
    erp = sqlite3.connect(demo.erp)
    erp.executemany(
        'INSERT INTO customers (id, number, "displayName", "addressLine1", city) VALUES (?, ?, ?, ?, ?)', customers
    )
    erp.commit()
    erp.close()
    crm = sqlite3.connect(demo.crm)
    crm.executemany(
        "INSERT INTO account (accountid, name, address1_line1, address1_city, customertypecode) VALUES (?, ?, ?, ?, 3)",
        accounts,
    )
    crm.commit()
    crm.close()
    with open_coupler(demo.config) as coupler:
        for mapping in ("SALESPEOPLE", "CURRENCY", MAPPING):
            report = coupler.match(mapping)
            print(f"  match {mapping}: {report.job.counters.as_dict()}", flush=True)
    return demo.config


# the server ------------------------------------------------------------------------------------------------------
def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) // 1024
    return found


class Sampler:
    """The highest VmRSS of ``pid`` seen while running (every ``interval`` seconds)."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, memory(self.pid)["VmRSS"])
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# the burst -------------------------------------------------------------------------------------------------------
def targets(base: str) -> list[tuple[str, str]]:
    """(kind, path) of the requests a burst cycles through."""
    page = httpx.get(f"{base}/api/mappings/{MAPPING}/records", params={"limit": 500}, timeout=60).json()
    keys = [row["key"] for row in page["rows"]]
    rng = random.Random(3)
    card, after = rng.choice(keys), keys[len(keys) // 2]
    records = f"/mappings/{MAPPING}/records"
    api_records = f"/api{records}"
    return [
        ("page /", "/"),
        ("page mapping", f"/mappings/{MAPPING}"),
        ("page records", records),
        ("page records", f"{records}?after={after}"),
        ("page records not coupled", f"{records}?filter=uncoupled"),
        ("page records coupled", f"{records}?filter=coupled"),
        ("page records failed", f"{records}?filter=failed"),
        ("page records conflict", f"{records}?filter=conflict"),
        ("page records skipped", f"{records}?filter=skipped"),
        ("page records search", f"{records}?q=Burst+Customer+01"),
        ("page records search", f"{records}?q=burst&filter=uncoupled"),
        ("page card", f"{records}/{card}"),
        ("api mappings", "/api/mappings"),
        ("api review", "/api/review"),
        ("api review", f"/api/mappings/{MAPPING}/review"),
        ("api records", api_records),
        ("api records not coupled", f"{api_records}?filter=uncoupled"),
        ("api records coupled", f"{api_records}?filter=coupled&after={after}"),
        ("api records search", f"{api_records}?search=Burst+Customer+02"),
        ("api card", f"{api_records}/{card}/card"),
        ("api status", f"{api_records}/{card}"),
    ]


async def fire(base: str, paths: list[tuple[str, str]], count: int) -> tuple[float, list[tuple[str, float, int]]]:
    """``count`` requests at once (cycling through ``paths``); the wall time and (kind, seconds, status) each."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(600)) as client:

        async def one(kind: str, path: str) -> tuple[str, float, int]:
            started = time.perf_counter()
            try:
                status = (await client.get(path)).status_code
            except httpx.TransportError:
                status = 0
            return kind, time.perf_counter() - started, status

        started = time.perf_counter()
        results = await asyncio.gather(*(one(*paths[i % len(paths)]) for i in range(count)))
        return time.perf_counter() - started, list(results)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(wall: float, results: list[tuple[str, float, int]]) -> None:
    latencies = [seconds for _, seconds, _ in results]
    statuses: dict[int, int] = defaultdict(int)
    for _, _, status in results:
        statuses[status] += 1
    print(
        f"  {len(results)} requests in {wall:.1f} s: p50 {statistics.median(latencies):.2f} s, "
        f"p95 {percentile(latencies, 0.95):.2f} s, max {max(latencies):.2f} s; status {dict(statuses)}"
    )
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, seconds, _ in results:
        by_kind[kind].append(seconds)
    for kind, values in sorted(by_kind.items()):
        print(f"    {kind:28} n={len(values):3}  p50 {statistics.median(values):6.2f} s  max {max(values):6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--bursts", type=int, default=2)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to wait after a burst before 'after'")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/coupler-webburst"))
    parser.add_argument("--reuse", action="store_true", help="serve the data already built in --dir")
    parser.add_argument("--only", default="", help="only the kinds of request whose name contains this text")
    args = parser.parse_args()
    config = args.dir / "coupler.toml"
    if not (args.reuse and config.exists()):
        print(f"building the demo with {args.rows:,} more customers in {args.dir} ...", flush=True)
        started = time.perf_counter()
        config = build(args.dir, args.rows)
        print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
    port = free_port()
    server = start_server(config, port)
    base = f"http://127.0.0.1:{port}"
    try:
        paths = [(kind, path) for kind, path in targets(base) if args.only in kind]
        time.sleep(args.settle)
        print(f"server pid {server.pid}: RSS at start {memory(server.pid)['VmRSS']} MB")
        for burst in range(1, args.bursts + 1):
            before = memory(server.pid)["VmRSS"]
            with Sampler(server.pid) as sampler:
                wall, results = asyncio.run(fire(base, paths, args.requests))
            time.sleep(args.settle)
            after = memory(server.pid)
            print(f"burst {burst}:")
            report(wall, results)
            print(
                f"  RSS before {before} MB, peak {max(sampler.peak, after['VmRSS'])} MB (VmHWM {after['VmHWM']} MB), "
                f"after {after['VmRSS']} MB"
            )
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
