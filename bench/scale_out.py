"""Benchmark: jobs per minute with 1, 2 and 4 real `coupler worker` processes serving many connections on one queue.

    PYTHONPATH=src python bench/scale_out.py [--connections 20] [--rounds 2] [--workers 1,2,4]
        [--dir /tmp/coupler-scale]

Builds ``--connections`` connections (copies of the demo, 5 table mappings each: SQLite systems, small data), their
state and the job queue in one PostgreSQL database (``COUPLER_BENCH_PG_URL``, default the test server's), couples
each (not timed), adds new customers on both sides and edits, then, for each worker count, starts from a copy of
that database and those files, defers ``--rounds`` rounds of incremental jobs per connection and starts the workers.

Prints per worker count: the jobs, the time from the first job's start to the last one's end (procrastinate's
events; the workers' start-up is not in it), jobs per minute, attempts beyond the first, and the checks: no two jobs
of one mapping overlapping in the job log, each mapping's jobs in the order they were asked for, each round in
dependency order, and on both systems the customers' and accounts' counts, couplings and duplicates as expected.
Nothing is asserted: the figures are for reading (a failed check is printed as such and the exit code is 1).
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path
from typing import Any

from queue_fleet import NEW_PER_SIDE, Fleet, Workers, check, database, wait_done  # bench/ is on the path

ADMIN_URL = os.environ.get("COUPLER_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def expected_counts(before: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """After the rounds: each side has the other's new customers once, all coupled, nothing duplicated."""
    return {
        tag: {
            "customers": counts["customers"] + NEW_PER_SIDE,
            "accounts": counts["accounts"] + NEW_PER_SIDE,
            "couplings": counts["couplings"] + 2 * NEW_PER_SIDE,
            "bench_customers": 2 * NEW_PER_SIDE,
            "bench_accounts": 2 * NEW_PER_SIDE,
            "duplicated_customers": counts["duplicated_customers"],
            "duplicated_accounts": counts["duplicated_accounts"],
        }
        for tag, counts in before.items()
    }


def compare(counts: dict[str, dict[str, int]], expected: dict[str, dict[str, int]]) -> list[str]:
    wrong = []
    for tag, want in expected.items():
        got = counts[tag]
        wrong += [f"{tag} {key}: {got[key]}, expected {value}" for key, value in want.items() if got[key] != value]
    return wrong


def run(template: Fleet, before: dict[str, dict[str, int]], workers: int, rounds: int, base: Path) -> dict[str, Any]:
    """One measurement with ``workers`` worker processes, on copies of the template's database and files."""
    name = f"coupler_bench_w{workers}"
    with database(ADMIN_URL, name, template=template.state_url.rsplit("/", 1)[1]) as url:
        fleet = template.clone(base / f"w{workers}", url)
        expected_jobs = fleet.defer_rounds(rounds)
        pool = Workers(fleet, workers, base / f"w{workers}.log")
        try:
            waited = wait_done(url, expected_jobs, timeout=1800)
        finally:
            pool.stop()
        checked = check(fleet)
        wrong = compare(fleet.counts(), expected_counts(before))
    return {"workers": workers, "waited": waited, "checked": checked, "wrong": wrong, "expected_jobs": expected_jobs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/coupler-scale"))
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    base: Path = args.dir
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    failures = 0
    with database(ADMIN_URL, "coupler_bench_template") as template_url:
        template = Fleet(directory=base / "template", state_url=template_url, connections=args.connections)
        began = time.monotonic()
        template.build()
        template.couple()
        template.add_work()
        before = template.counts()
        print(
            f"{args.connections} connections x {len(next(iter(template.orders.values())))} mappings, "
            f"coupled in {time.monotonic() - began:.0f}s (not timed below); {args.rounds} rounds per connection; "
            f"{os.cpu_count()} CPUs (shared)"
        )
        print(f"{'workers':>7} {'jobs':>5} {'seconds':>8} {'jobs/min':>9} {'retries':>7}  checks")
        for workers in counts:
            result = run(template, before, workers, args.rounds, base)
            checked = result["checked"]
            problems = [
                *(f"overlap {o}" for o in checked.overlaps),
                *(f"out of order {m}" for m in checked.out_of_order),
                *checked.not_in_dependency_order,
                *result["wrong"],
                *([f"{checked.failed} jobs failed"] if checked.failed else []),
                *(
                    [f"{checked.jobs} jobs, expected {result['expected_jobs']}"]
                    if checked.jobs != result["expected_jobs"]
                    else []
                ),
            ]
            failures += bool(problems)
            verdict = "locks, order, dependency order and counts hold" if not problems else "; ".join(problems[:8])
            print(
                f"{workers:>7} {checked.jobs:>5} {checked.span_seconds:>8.1f} {checked.per_minute:>9.0f} "
                f"{checked.attempts:>7}  {verdict}",
                flush=True,
            )
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
