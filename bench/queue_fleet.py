"""What bench/scale_out.py and bench/worker_faults.py share: a fleet of connections on one job queue, real
`coupler worker` processes, and the checks of what they did.

A connection is a copy of the demo (its own erp.db and crm.db: SQLite systems, small data) with its own coupler.toml
whose ``[queue] connection`` names it. All the connections keep their state in one PostgreSQL database, where the
queue lives too: the state store keys couplings, watermarks, locks and the job log by mapping name, so each
connection's mappings carry its name as a prefix (``C03-CUSTOMER``); any number of workers serve all of them
(``coupler worker -c c00.toml -c c01.toml ...``).

The work: each connection is coupled first (in this process: ``match`` then ``sync_full`` in dependency order),
then gets new customers on both sides (CUSTOMER synchronizes uncoupled records here: the rounds create their
counterparts) and edits, and ``rounds`` rounds of incremental jobs are deferred per connection (a round is a chain:
each mapping's job defers the next mapping's when it ends, in dependency order).
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
import tomlkit

from coupler.bootstrap import open_coupler, open_queue
from coupler.config import load_config
from coupler.demo import create_demo

__all__ = ["Fleet", "Workers", "check", "coupler_command", "database", "queue_state", "wait_done"]

QUEUE = {"scheduled": False, "tick": "1s", "takeover_after": "5s"}
NEW_PER_SIDE = 3
"""New customers added in the ERP, and new accounts in the CRM, per connection before the rounds."""


def coupler_command() -> str:
    beside = Path(sys.executable).with_name("coupler")
    return str(beside) if beside.is_file() else shutil.which("coupler") or "coupler"


def connect(state_url: str) -> psycopg.Connection[tuple[Any, ...]]:
    from coupler.adapters.queue.connection import conninfo

    return psycopg.connect(conninfo(state_url), autocommit=True)


@dataclass
class Fleet:
    """``connections`` copies of the demo under ``directory``, sharing the state store at ``state_url``."""

    directory: Path
    state_url: str
    connections: int
    configs: list[Path] = field(default_factory=list)
    orders: dict[str, list[str]] = field(default_factory=dict)
    """Each connection's mappings in dependency order (prefixed names)."""

    def build(self) -> None:
        template = self.directory / "template"
        create_demo(template)
        for index in range(self.connections):
            name = f"c{index:02d}"
            folder = self.directory / name
            folder.mkdir(parents=True)
            for database in ("erp.db", "crm.db"):
                shutil.copy(template / database, folder / database)
            config = folder / "coupler.toml"
            config.write_text(self._config(template / "coupler.toml", name), encoding="utf-8")
            self.configs.append(config)

    def clone(self, directory: Path, state_url: str) -> Fleet:
        """A copy of this fleet (its systems' files) in ``directory`` with its state at ``state_url`` (a copy of this
        fleet's database: ``CREATE DATABASE ... TEMPLATE``)."""
        copy = Fleet(directory=directory, state_url=state_url, connections=self.connections, orders=dict(self.orders))
        for config in self.configs:
            folder = directory / config.parent.name
            shutil.copytree(config.parent, folder)
            text = (folder / "coupler.toml").read_text(encoding="utf-8").replace(self.state_url, state_url)
            (folder / "coupler.toml").write_text(text, encoding="utf-8")
            copy.configs.append(folder / "coupler.toml")
        return copy

    def _config(self, template: Path, name: str) -> str:
        document = tomlkit.parse(template.read_text(encoding="utf-8"))
        prefix = f"{name.upper()}-"
        document["state"] = self.state_url
        queue = tomlkit.table()
        queue.update({"connection": name, **QUEUE})
        document["queue"] = queue
        for mapping in document["mappings"]:  # type: ignore[union-attr]
            mapping["name"] = prefix + str(mapping["name"])
            mapping["depends_on"] = [prefix + str(d) for d in mapping["depends_on"]]
            if mapping["name"] == prefix + "CUSTOMER":
                mapping["sync_only_coupled"] = False  # the rounds create the new customers' counterparts
            for entry in mapping.get("fields", []):
                if "lookup" in entry:
                    entry["lookup"] = prefix + str(entry["lookup"])
        return tomlkit.dumps(document)

    def couple(self) -> None:
        """Couple each connection as an administrator would first, mapping after mapping in dependency order."""
        for config in self.configs:
            with closing(open_coupler(config, validate=False)) as coupler:
                order = [m.name for m in coupler.systems.in_dependency_order(None)]
                self.orders[config.parent.name] = order
                for mapping in order:  # as `coupler review` advises: couple what both share, then create the rest
                    coupler.match(mapping)
                    coupler.sync_full(mapping)

    def add_work(self) -> None:
        """New customers on both sides and a few edits, for the rounds to carry across."""
        for config in self.configs:
            folder, tag = config.parent, config.parent.name
            with closing(sqlite3.connect(folder / "erp.db")) as erp:
                for n in range(NEW_PER_SIDE):
                    erp.execute(
                        'INSERT INTO customers ("displayName", city, "salespersonCode", "currencyCode", '
                        '"paymentTermsCode") SELECT ?, city, "salespersonCode", "currencyCode", "paymentTermsCode" '
                        "FROM customers WHERE blocked = '' AND \"salespersonCode\" IS NOT NULL ORDER BY number LIMIT 1",
                        (f"Bench ERP {tag} {n}",),
                    )
                erp.execute(
                    "UPDATE customers SET city = 'Ripon' WHERE number IN "
                    "(SELECT number FROM customers WHERE blocked = '' ORDER BY number LIMIT 3)"
                )
                erp.commit()
            with closing(sqlite3.connect(folder / "crm.db")) as crm:
                for n in range(NEW_PER_SIDE):
                    crm.execute(
                        "INSERT INTO account (name, address1_city, customertypecode, statecode, ownerid) "
                        "SELECT ?, address1_city, 3, 0, ownerid FROM account "
                        "WHERE statecode = 0 AND customertypecode = 3 ORDER BY name LIMIT 1",
                        (f"Bench CRM {tag} {n}",),
                    )
                crm.commit()

    def defer_rounds(self, rounds: int) -> int:
        """``rounds`` rounds per connection; the number of incremental jobs they make."""
        for config in self.configs:
            order = self.orders[config.parent.name]
            with open_queue(load_config(config)) as queue:
                for _ in range(rounds):
                    queue.round(order)
        return sum(len(order) for order in self.orders.values()) * rounds

    def counts(self) -> dict[str, dict[str, int]]:
        """Per connection: records on each side, couplings, and duplicated names, of CUSTOMER."""
        found: dict[str, dict[str, int]] = {}
        with connect(self.state_url) as state:
            couplings = dict(
                state.execute("SELECT mapping, count(*) FROM coupler_couplings GROUP BY mapping").fetchall()
            )
        for config in self.configs:
            folder, tag = config.parent, config.parent.name
            with closing(sqlite3.connect(folder / "erp.db")) as erp, closing(sqlite3.connect(folder / "crm.db")) as crm:
                customers = [r[0] for r in erp.execute("SELECT \"displayName\" FROM customers WHERE blocked = ''")]
                accounts = [
                    r[0] for r in crm.execute("SELECT name FROM account WHERE statecode = 0 AND customertypecode = 3")
                ]
            found[tag] = {
                "customers": len(customers),
                "accounts": len(accounts),
                "couplings": int(couplings.get(f"{tag.upper()}-CUSTOMER", 0)),
                "bench_customers": sum(1 for c in customers if c.startswith("Bench")),
                "bench_accounts": sum(1 for a in accounts if a.startswith("Bench")),
                "duplicated_customers": sum(n - 1 for n in Counter(customers).values() if n > 1),
                "duplicated_accounts": sum(n - 1 for n in Counter(accounts).values() if n > 1),
            }
        return found


class Workers:
    """``count`` `coupler worker` processes serving every connection of the fleet."""

    def __init__(self, fleet: Fleet, count: int, log: Path) -> None:
        self.fleet, self.log = fleet, log
        self.processes: list[subprocess.Popen[bytes]] = []
        self.started = 0
        for _ in range(count):
            self.start()

    def start(self) -> subprocess.Popen[bytes]:
        command = [coupler_command(), "worker"]
        for config in self.fleet.configs:
            command += ["-c", str(config)]
        environment = {k: v for k, v in os.environ.items() if k != "COUPLER_CONFIG"} | {"COUPLER_LOG_FORMAT": "json"}
        with self.log.open("ab") as log:
            process = subprocess.Popen(command, env=environment, stdout=log, stderr=log)
        self.processes.append(process)
        self.started += 1
        return process

    def alive(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.processes if p.poll() is None]

    def stop(self) -> None:
        for process in self.alive():
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def queue_state(state_url: str) -> dict[str, int]:
    with connect(state_url) as database:
        rows = database.execute(
            "SELECT status::text, count(*) FROM procrastinate_jobs WHERE task_name = 'coupler.incremental' GROUP BY 1"
        ).fetchall()
    return {status: int(n) for status, n in rows}


def wait_done(state_url: str, expected: int, *, timeout: float, tick: Callable[[], None] | None = None) -> float:
    """Wait until the ``expected`` incremental jobs are all finished; the seconds waited."""
    began = time.monotonic()
    while True:
        states = queue_state(state_url)
        finished = states.get("succeeded", 0) + states.get("failed", 0)
        if finished >= expected and not states.get("todo") and not states.get("doing"):
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"after {timeout:.0f}s: {states} of {expected} jobs")
        if tick is not None:
            tick()
        time.sleep(0.5)


@dataclass
class Checked:
    jobs: int
    failed: int
    attempts: int
    """Attempts beyond the first (jobs run again after a kill, or refused while a dead worker's lock held)."""
    span_seconds: float
    """From the first job's start to the last job's end (procrastinate's events)."""
    overlaps: list[str]
    out_of_order: list[str]
    not_in_dependency_order: list[str]
    orphaned: int
    """Job-log entries of attempts that died with their worker (closed by the job that ran again)."""

    @property
    def per_minute(self) -> float:
        return self.jobs / (self.span_seconds / 60) if self.span_seconds else 0.0


def check(fleet: Fleet) -> Checked:
    """What the queue and the job log say: every mapping's jobs one at a time (no two of one mapping overlap in the
    job log), in the order asked (the procrastinate ids' order), and each round in dependency order (a mapping's job
    of round r starts after the previous mapping's job of round r ended)."""
    with connect(fleet.state_url) as database:
        jobs = database.execute(
            "SELECT j.id, j.args->>'connection', j.args->>'mapping', j.status::text, j.attempts, p.jobs "
            "FROM procrastinate_jobs j LEFT JOIN coupler_queue_progress p ON p.job_id = j.id "
            "WHERE j.task_name = 'coupler.incremental' ORDER BY j.id"
        ).fetchall()
        span = database.execute(
            "SELECT min(e.at) FILTER (WHERE e.type = 'started'), max(e.at) FILTER (WHERE e.type IN "
            "('succeeded', 'failed')) FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id "
            "WHERE j.task_name = 'coupler.incremental'"
        ).fetchone()
        log = {
            row[0]: (row[1], row[2], row[3])
            for row in database.execute(
                "SELECT id, mapping, started_at, finished_at FROM coupler_jobs WHERE kind = 'incremental'"
            ).fetchall()
        }
    recorded: dict[str, list[tuple[int, datetime, datetime]]] = defaultdict(list)
    used: set[str] = set()
    failed = 0
    attempts = 0
    for job_id, _connection, mapping, status, tries, results in jobs:
        failed += status != "succeeded"
        attempts += max(0, tries - 1)
        for coupler_job in results or []:
            used.add(coupler_job)
            _m, started, finished = log[coupler_job]
            recorded[mapping].append((job_id, started, finished))
    overlaps, out_of_order = [], []
    for mapping, runs in recorded.items():
        by_start = sorted(runs, key=lambda r: r[1])
        if [r[0] for r in by_start] != sorted(r[0] for r in runs):
            out_of_order.append(mapping)
        for before, after in itertools.pairwise(by_start):
            if before[2] is None or before[2] > after[1]:
                overlaps.append(f"{mapping}: job {before[0]} and job {after[0]}")
    not_in_order = []
    for tag, order in fleet.orders.items():
        for previous, following in itertools.pairwise(order):
            for r, (before, after) in enumerate(zip(recorded[previous], recorded[following], strict=False)):
                if before[2] is None or after[1] < before[2]:
                    not_in_order.append(f"{tag} round {r + 1}: {following} started before {previous} ended")
    orphaned = sum(1 for job_id in log if job_id not in used)
    seconds = (span[1] - span[0]).total_seconds() if span and span[0] and span[1] else 0.0
    return Checked(
        jobs=len(jobs),
        failed=failed,
        attempts=attempts,
        span_seconds=seconds,
        overlaps=overlaps,
        out_of_order=out_of_order,
        not_in_dependency_order=not_in_order,
        orphaned=orphaned,
    )


@contextmanager
def database(admin_url: str, name: str, *, template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database (a copy of ``template``), dropped on the way out; its SQLAlchemy URL."""
    admin = sa.make_url(admin_url)
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            copy = f' TEMPLATE "{template}"' if template else ""
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"{copy}')
        try:
            yield admin.set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()
