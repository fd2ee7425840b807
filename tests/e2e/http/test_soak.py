"""Soak: a few thousand customers and accounts synchronized over the Business Central and Dataverse test servers by
`coupler` subprocesses that are killed (-9), stopped (SIGTERM, once or twice), throttled (429), refused (503), cut off
(a connection dropped before the server acts, or its answer dropped after it acted) or answered 500, at random moments,
now and then with a second run started beside them, while users edit both systems (one record, or many in one
statement sharing one modified-on; the same field on both sides now and then) and add records. After every such run,
runs without faults must converge: no record twice, every soak record coupled after a full run, and every value a user
wrote present on both sides, unless both sides changed that record and the conflict is parked where `coupler
conflicts` shows it (an administrator resolves a few of them each time, and their choice must arrive too).

The seed decides the plan (commands, faults, the fraction of a run after which a fault comes); the moments follow the
requests the servers have answered, and what users edit depends on what the runs did, so a seed replays the same
plan, not the same interleaving. Run one again with ``COUPLER_SOAK_SEEDS=<seed>``; make it longer with
``COUPLER_SOAK_EPISODES`` and ``COUPLER_SOAK_RECORDS`` (records added per side before the first run)."""

from __future__ import annotations

import json
import math
import os
import random
import resource
import signal
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from coupler.domain.mapping import Side
from coupler.services.api import Coupler
from coupler.testing import Faults
from e2e.cli.support import coupler_command

from .soak import Editor, Ledger, Sides, examine, query, wait_until
from .support import HttpDemo

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SEEDS = [int(s) for s in os.environ.get("COUPLER_SOAK_SEEDS", "").split(",") if s.strip()] or [10, 260]
EPISODES = int(os.environ.get("COUPLER_SOAK_EPISODES", "5"))
RECORDS = int(os.environ.get("COUPLER_SOAK_RECORDS", "1200"))

FULL = ("sync", "CUSTOMER", "--full", "--json")
COMMANDS = {("run", "--once", "--json"): 4, ("sync", "--json"): 2, FULL: 3}  # -> weight
SIGNALS = ("kill -9", "SIGTERM", "SIGTERM twice")
STRUCK = ("429", "503", "drop")  # served to the next requests once the moment has come
AIMED = {"drop answer": "drop-answer", "drop write": "drop", "500 on write": "error"}  # served to the nth write
WRITES = {  # what a side's writes look like to Faults.aim ("METHOD path?query", a line break, the body)
    (Side.LOCAL, "creation"): r'\$batch\n.*"method": ?"POST"',  # Business Central: JSON $batch
    (Side.LOCAL, "update"): r'\$batch\n.*"method": ?"PATCH"',
    (Side.INTEGRATION, "creation"): r"^POST \S*CreateMultiple",  # Dataverse: CreateMultiple, multipart $batch
    (Side.INTEGRATION, "update"): r"^POST \S*\$batch\n[\s\S]*PATCH ",
}
SYSTEM = {Side.LOCAL: "Business Central", Side.INTEGRATION: "Sales"}
PROBLEMS = ("records created twice", "records left uncoupled after a full run", "edits lost")


@dataclass(frozen=True, kw_only=True)
class Episode:
    """One run with faults: a signal at a moment, an HTTP fault on one server, or both; maybe a second run beside."""

    number: int
    command: tuple[str, ...]
    signal: str | None
    signal_at: float
    """When the signal comes: a fraction of the requests a run of this command took last time."""
    http: str | None
    side: Side
    target: str
    """What an aimed fault hits: a creation or an update (the first or second such request)."""
    http_at: float
    count: int
    beside: tuple[str, ...] | None

    @staticmethod
    def plan(rng: random.Random, number: int) -> Episode:
        signal_, http = rng.choice([*SIGNALS, None]), rng.choice([*STRUCK, *AIMED, None])
        commands = list(COMMANDS)
        command = FULL if number == 1 else rng.choices(commands, weights=list(COMMANDS.values()))[0]
        signal_at = rng.random()
        if http in AIMED:  # the signal comes late enough for the run to reach the write aimed at (now and then)
            signal_at = 0.4 + 0.6 * signal_at
        return Episode(
            number=number,
            command=command,
            signal=signal_ if signal_ or http else "kill -9",
            signal_at=signal_at,
            http=http,
            side=rng.choice(list(Side)),
            target="creation" if command == FULL and rng.random() < 0.7 else "update",  # only full runs create
            http_at=rng.random() * (signal_at if signal_ and http in STRUCK else 0.8),  # before the signal
            count=rng.randint(1, 3),
            beside=rng.choice(commands) if rng.random() < 0.25 else None,
        )

    @property
    def nth(self) -> int:
        """Which write an aimed fault hits: 0 the first, 1 the second."""
        return round(self.http_at)

    def __str__(self) -> str:
        faults = [f"{self.signal} at {self.signal_at:.0%}"] if self.signal else []
        if self.http in AIMED:
            nth = ("1st", "2nd")[self.nth]
            faults.append(f"{self.http} on the {nth} {self.target} in {SYSTEM[self.side]}")
        elif self.http:
            faults.append(f"{self.http} x{self.count} from {SYSTEM[self.side]} at {self.http_at:.0%}")
        beside = f" (beside it: coupler {' '.join(self.beside[:-1])})" if self.beside else ""
        return f"#{self.number} coupler {' '.join(self.command[:-1])}: {', '.join(faults)}{beside}"


@dataclass
class Soak:
    demo: HttpDemo
    rng: random.Random
    """The users' and the administrator's choices."""
    sides: Sides = field(init=False)
    ledger: Ledger = field(default_factory=Ledger)
    editor: Editor = field(init=False)
    figures: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    seen: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    """What the checks found so far: records created twice, left uncoupled, edits lost."""
    expected: dict[tuple[str, ...], int] = field(default_factory=lambda: {c: 60 for c in COMMANDS} | {FULL: 150})
    """Requests a run of each command took the last time it ran to its end (where the moments of faults fall)."""

    def __post_init__(self) -> None:
        self.sides = Sides.of(self.demo.directory)
        self.editor = Editor(self.sides, self.ledger, self.rng)

    def faults(self, side: Side) -> Faults:
        return self.demo.bc_faults if side is Side.LOCAL else self.demo.dv_faults

    # the users -----------------------------------------------------------------------------------------------------
    def users_edit(self) -> None:
        """Before a run: a multi-row update on each side, single edits on both, records added on both."""
        self.editor.refresh()
        for side in Side:
            self.editor.edit(side, self.rng.randint(100, 500))
        for _ in range(self.rng.randint(10, 40)):
            self.editor.edit(self.rng.choice(list(Side)))
        for _ in range(self.rng.randint(0, 3)):
            self.editor.both()
        for side in Side:
            self.editor.create(side, self.rng.choice([0, 20, 60, 150]))
        time.sleep(0.15)  # the run comes later, past the overlap window

    # a run with faults ---------------------------------------------------------------------------------------------
    def run_with_faults(self, episode: Episode) -> None:
        faults = self.faults(episode.side)
        aimed_before = faults.injected[AIMED.get(episode.http or "", "")]
        if episode.http in AIMED:
            pattern = WRITES[episode.side, episode.target]
            faults.aim(AIMED[episode.http], matching=pattern, skip=episode.nth)
        expected, start = self.expected[episode.command], self.demo.requests_served
        moments = []  # (requests answered, what comes then)
        if episode.signal:
            moments.append((max(1, math.ceil(episode.signal_at * expected)), episode.signal))
        if episode.http in STRUCK:
            moments.append((max(1, math.ceil(episode.http_at * expected)), episode.http))
        logs = [self.demo.directory / f"run-{episode.number}-{n}.log" for n in (1, 2)]
        with self.editor.during(pause=0.05):
            runs = [self._start(episode.command, logs[0])]
            if episode.beside:
                runs.append(self._start(episode.beside, logs[1]))
            for at, what in sorted(moments):
                wait_until(lambda at=at: runs[0].poll() is not None or self.demo.requests_served - start >= at,
                           timeout=120)  # fmt: skip
                self._strike(what, episode, runs[0], faults)
            codes = [_wait(run) for run in runs]
        faults.clear()
        requests = self.demo.requests_served - start
        if codes[0] >= 0 and not episode.beside:
            self.expected[episode.command] = max(10, requests)
        self.figures["runs with faults"] += len(runs)
        for code, log in zip(codes, logs, strict=False):
            self.figures[f"exit code {code}"] += 1
            if "Traceback" in (text := log.read_text()):
                self.problems.append(f"{episode}: a traceback\n{text[-3000:]}")
        if episode.http in AIMED:
            served = faults.injected[AIMED[episode.http]] > aimed_before
            self.figures[f"fault: {episode.http}" if served else f"missed: {episode.http} (no such write)"] += 1
        print(f"{episode}: exit {', '.join(map(str, codes))}, {requests} requests")

    def _start(self, command: tuple[str, ...], log: Path) -> subprocess.Popen[str]:
        with log.open("w") as output:
            return subprocess.Popen(
                [coupler_command(), *command, "--config", str(self.demo.config)],
                cwd=self.demo.directory, stdout=output, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip

    def _strike(self, what: str, episode: Episode, process: subprocess.Popen[str], faults: Faults) -> None:
        if process.poll() is not None:
            self.figures[f"missed: {what} (the run had ended)"] += 1
            return
        self.figures[f"fault: {what}"] += 1
        if what == "kill -9":
            process.kill()
        elif what.startswith("SIGTERM"):
            process.send_signal(signal.SIGTERM)
            if what == "SIGTERM twice":
                time.sleep(self.rng.uniform(0, 0.3))
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
        elif what == "429":  # Business Central may answer without Retry-After
            faults.throttle(episode.count, retry_after=None if episode.side is Side.LOCAL else 0.2)
        elif what == "503":
            faults.unavailable(episode.count)
        else:
            faults.drop(episode.count)

    # runs without faults -------------------------------------------------------------------------------------------
    def converge(self, episode: Episode) -> None:
        """Runs without faults: incremental runs of every mapping (every coupled pair must then agree), then a full
        run of CUSTOMER (every soak record must then be coupled, once). Before them an administrator releases the lock
        of a run that was killed (`coupler unlock`); after them they resolve a few parked conflicts."""
        with self.demo.open() as coupler:
            self._release_locks(coupler)
            self._incremental(coupler)
            self._check(f"{episode}: after incremental runs", self._parked(coupler), complete=False)
            coupler.sync_full("CUSTOMER")
            self.figures["runs without faults"] += 1
            self._check(f"{episode}: after a full run", self._parked(coupler), complete=True)
            self._resolve_some(coupler)

    def _incremental(self, coupler: Coupler) -> None:
        """Incremental runs until one has no more failed records than the one before (at most three): a record whose
        write met a change made after it was read (412) is read again and written by the next run. That change may
        be the killed run's own: a server finishes a $batch whose client has died."""
        failed = None
        for _ in range(3):
            now = sum(report.job.counters.failed for report in coupler.sync_modified())
            self.figures["runs without faults"] += 1
            if failed is not None:
                self.figures["incremental runs again"] += 1
            if now == 0 or now == failed:
                return
            failed = now

    def _release_locks(self, coupler: Coupler) -> None:
        """A lock left by a killed run is released (its job closed); one whose owner still runs, with every run
        ended, is a problem."""
        for lock in coupler.locks():
            if lock.state == "owner gone":
                coupler.unlock(lock.mapping)
                self.figures["locks released"] += 1
            elif lock.state != "expired":
                self.problems.append(f"a lock held after every run ended: {lock}")

    @staticmethod
    def _parked(coupler: Coupler) -> dict[str, Any]:
        conflicts = coupler.conflicts("CUSTOMER", limit=100_000)
        return {c.local_key: {f.local_field: f for f in c.fields} for c in conflicts}

    def _resolve_some(self, coupler: Coupler) -> None:
        """An administrator resolves up to three parked conflicts: the side they choose holds the newest value of the
        fields in conflict."""
        parked = self._parked(coupler)
        for local_key in self.rng.sample(sorted(parked), min(3, len(parked))):
            use = self.rng.choice(list(Side))
            table = self.sides[use]
            [pair] = query(self.sides.state, "SELECT * FROM coupler_couplings WHERE mapping = 'CUSTOMER' AND "
                           "local_key = ?", (local_key,))  # fmt: skip
            [row] = query(table.db, f'SELECT * FROM "{table.name}" WHERE "{table.key}" = ?', (pair[f"{use}_key"],))
            coupler.resolve("CUSTOMER", local_key, use=use)
            with self.ledger.lock:
                for local_field in parked[local_key]:
                    self.ledger.record(use, [row[table.label]], local_field, row[table.column(local_field)])
            self.figures["conflicts resolved"] += 1

    # checks --------------------------------------------------------------------------------------------------------
    def _check(self, when: str, parked: dict[str, Any], *, complete: bool) -> None:
        """Examine the soak's records; what was not seen before is a problem (once)."""
        found = examine(self.sides, self.ledger, parked, complete=complete)
        for what, items in zip(PROBLEMS, (
            [f"{k} (x{n + 1})" for k, n in found.duplicates.items()],
            found.orphans,
            [f"{name}.{column}: expected {expected}, {held}" for name, column, expected, held in found.lost],
        ), strict=True):  # fmt: skip
            if new := [item for item in items if item not in self.seen[what]]:
                self.seen[what].update(new)
                self.problems.append(f"{when}: {len(new)} {what}, e.g. {new[:3]}")
        self.figures["pairs"], self.figures["parked"], self.figures["held"] = found.pairs, found.parked, found.held
        self.figures["stale"] = found.stale

    def final_check(self) -> None:
        """Every edit that is not on both sides is explained by a conflict `coupler conflicts --json` shows."""
        command = [coupler_command(), "conflicts", "-m", "CUSTOMER", "--json", "--config", str(self.demo.config)]
        shown = json.loads(subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout)
        parked = {c["local_key"]: {f["local_field"]: f for f in c["fields"]} for c in shown}
        self._check("at the end, with the conflicts `coupler conflicts --json` shows", parked, complete=True)

    # figures -------------------------------------------------------------------------------------------------------
    def summary(self, seed: int, *, seconds: float, cpu: float) -> list[str]:
        """The figures of the soak: records, faults, runs, users' edits, and what the checks found."""
        f, counts = self.figures, self.ledger.counts

        def listed(prefix: str) -> str:
            items = sorted((k.removeprefix(prefix), v) for k, v in f.items() if k.startswith(prefix))
            return ", ".join(f"{name} {count}" for name, count in items) or "none"

        served = "; ".join(f"{SYSTEM[side]}: " + (", ".join(f"{k} {v}" for k, v in sorted(self.faults(side).injected
                           .items())) or "none") for side in Side)  # fmt: skip
        pairs = len(query(self.sides.state, "SELECT 1 FROM coupler_couplings WHERE mapping = 'CUSTOMER'"))
        found = {what: len(self.seen[what]) for what in PROBLEMS}
        added = sum(self.editor.created.values())
        return [
            f"soak seed {seed}: {seconds:.0f}s, {cpu:.0f}s of CPU (the test, both servers and every run)",
            f"  records: {RECORDS} added on each side before the first run, {added - 2 * RECORDS} by users since; at "
            f"the end {f['pairs']} soak pairs and {pairs} CUSTOMER couplings in all",
            f"  faults injected: {listed('fault: ')}; planned but missed: {listed('missed: ')}",
            f"  HTTP faults served: {served}",
            f"  runs: {f['runs with faults']} with faults (exit codes {listed('exit code ')}), "
            f"{f['runs without faults']} without ({f['incremental runs again']} of them again for records that met a "
            f"412); {f['locks released']} locks of killed runs released, {f['conflicts resolved']} conflicts resolved",
            f"  users: {counts['rows edited']} rows edited in {counts['single-row edits']} single-row edits and "
            f"{counts['multi-row updates']} multi-row updates; {counts['same field edited on both sides']} times the "
            f"same field of one record on both sides",
            f"  found: {found['records created twice']} records created twice, "
            f"{found['records left uncoupled after a full run']} left uncoupled after a full run, "
            f"{found['edits lost']} edits lost; {f['parked']} conflicts parked at the end, holding back {f['held']} "
            f"edits ({f['stale']} conflicting fields showing a value their record no longer holds)",
        ]


def _cpu() -> float:
    """CPU seconds of this process (the test, both servers) and of its children that ended (the runs)."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def _wait(process: subprocess.Popen[str]) -> int:
    try:
        return process.wait(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("seed", SEEDS)
def test_soak(start_demo: Callable[..., HttpDemo], seed: int) -> None:
    began = time.monotonic()
    cpu_before = _cpu()
    print(f"\nsoak seed {seed} (again: COUPLER_SOAK_SEEDS={seed}), {EPISODES} episodes, {RECORDS} records per side")
    demo = start_demo()
    with demo.config.open("a", encoding="utf-8") as config:
        # many pages: many points to stop between; a short overlap window (the users' SQLite commits are instant), so
        # that a watermark may reach the stamp of a multi-row update made before the run and stop among its records
        config.write("\n[sync]\nbatch_size = 100\noverlap_ms = 100\n")
    plan = random.Random(seed)  # the plan alone: what users pick depends on what the runs did
    soak = Soak(demo, random.Random(plan.random()))
    for side in Side:
        soak.editor.create(side, RECORDS)
    with demo.open() as coupler:  # what customers refer to, and the customers both systems share, coupled
        coupler.match("SALESPEOPLE", sync_after=Side.INTEGRATION)
        coupler.match("CURRENCY", sync_after=Side.LOCAL)
        for name in ("CURRENCY", "SALESPEOPLE"):
            coupler.sync_full(name)
        coupler.match("CUSTOMER", sync_after=Side.LOCAL)

    for number in range(1, EPISODES + 1):
        episode = Episode.plan(plan, number)
        soak.users_edit()
        soak.run_with_faults(episode)
        soak.converge(episode)
    soak.final_check()

    for line in soak.summary(seed, seconds=time.monotonic() - began, cpu=_cpu() - cpu_before):
        print(line)
    for problem in soak.problems:
        print(problem)
    assert not soak.problems, f"seed {seed}: {len(soak.problems)} problem(s), the first: {soak.problems[0]}"
