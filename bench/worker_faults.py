"""Benchmark: workers killed with SIGKILL at random while they run the scale-out work; nothing duplicated, nothing
lost, every job finished.

    PYTHONPATH=src python bench/worker_faults.py [--connections 20] [--rounds 2] [--workers 2] [--kills 10]
        [--seed 14] [--dir /tmp/coupler-faults]

The work of bench/scale_out.py (``--connections`` copies of the demo on one PostgreSQL state store and queue, coupled,
new customers on both sides, ``--rounds`` rounds of incremental jobs per connection) run by ``--workers`` `coupler
worker` processes, of which one at random is killed with SIGKILL ``--kills`` times, at random moments while jobs
remain (each kill of a worker holding a mapping's lock in the state store, that is in the middle of a job's work,
when one does within a few seconds), a new worker started in its place each time. A
killed worker's job is put back in the queue after ``takeover_after`` (5 s here) and run again by another.

Prints the kills (which job each worker had in hand), the time, the attempts beyond the first, and the checks: every
job succeeded, no two jobs of a mapping overlapping, order and dependency order, and on both systems of every
connection the customers' and accounts' counts, couplings and duplicates as expected (the new customers created
once each on the other side). Exit code 1 when a check fails.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import time
from pathlib import Path

from queue_fleet import Fleet, Workers, check, connect, database, queue_state, wait_done  # bench/ is on the path
from scale_out import ADMIN_URL, compare, expected_counts

PATIENCE = 5.0
"""Seconds a due kill waits for a worker in the middle of a job before it kills one anyway."""


def doing(state_url: str) -> dict[int, str]:
    """The processes holding a mapping's lock in the state store (a worker running a job), with the lock's name."""
    with connect(state_url) as db:
        rows = db.execute("SELECT pid, name FROM coupler_locks WHERE until > now() AND pid IS NOT NULL").fetchall()
    return {int(pid): str(name) for pid, name in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/coupler-faults"))
    args = parser.parse_args()
    chance = random.Random(args.seed)

    base: Path = args.dir
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    with database(ADMIN_URL, "coupler_faults") as url:
        fleet = Fleet(directory=base / "fleet", state_url=url, connections=args.connections)
        began = time.monotonic()
        fleet.build()
        fleet.couple()
        fleet.add_work()
        before = fleet.counts()
        print(
            f"{args.connections} connections x 5 mappings, coupled in {time.monotonic() - began:.0f}s; "
            f"{args.rounds} rounds per connection; {args.workers} workers; {args.kills} kills (seed {args.seed}); "
            f"{os.cpu_count()} CPUs (shared)",
            flush=True,
        )
        expected_jobs = fleet.defer_rounds(args.rounds)
        pool = Workers(fleet, args.workers, base / "workers.log")
        kills: list[str] = []
        next_kill = time.monotonic() + chance.uniform(2, 6)

        def kill_now() -> None:
            """Due: kill a worker holding a mapping's lock (in the middle of a job's work); when none holds one,
            wait for one up to ``PATIENCE`` seconds, then kill any worker (between jobs, or before its job locked
            its mapping)."""
            nonlocal next_kill
            now = time.monotonic()
            if len(kills) >= args.kills or now < next_kill:
                return
            states = queue_state(url)
            if not states.get("todo") and not states.get("doing"):
                return
            busy = doing(url)
            working = [p for p in pool.alive() if p.pid in busy]
            if not working and now < next_kill + PATIENCE:
                return
            victim = chance.choice(working or pool.alive())
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            held = busy.get(victim.pid)
            kills.append(f"worker {victim.pid}" + (f" holding {held}" if held else " (no mapping lock held)"))
            print(f"  kill {len(kills)}: {kills[-1]}", flush=True)
            pool.start()
            next_kill = time.monotonic() + chance.uniform(1, 5)

        try:
            waited = wait_done(url, expected_jobs, timeout=3600, tick=kill_now)
        finally:
            pool.stop()
        checked = check(fleet)
        wrong = compare(fleet.counts(), expected_counts(before))
        states = queue_state(url)

    problems = [
        *(f"overlap {o}" for o in checked.overlaps),
        *(f"out of order {m}" for m in checked.out_of_order),
        *checked.not_in_dependency_order,
        *wrong,
        *([f"{checked.failed} jobs failed"] if checked.failed else []),
        *([f"{checked.jobs} jobs, expected {expected_jobs}"] if checked.jobs != expected_jobs else []),
        *([f"only {len(kills)} kills: the jobs ended first"] if len(kills) < args.kills else []),
    ]
    busy_kills = sum(1 for k in kills if " holding " in k)
    print(
        f"{checked.jobs} jobs ({states.get('succeeded', 0)} succeeded) in {waited:.0f}s with {len(kills)} kills "
        f"({busy_kills} of a worker holding a mapping's lock, mid-job); {checked.attempts} attempts beyond the first; "
        f"{checked.orphaned} job-log entries of killed attempts closed by the job run again; "
        f"{pool.started} workers started in all"
    )
    print(
        "checks: "
        + (
            "every job finished; nothing duplicated, nothing lost; locks and order held"
            if not problems
            else "; ".join(problems[:10])
        )
    )
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
