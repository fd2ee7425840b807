"""Benchmark: coupler's full and incremental synchronization against the raw-SQL floor.

    python bench/sync_benchmark.py [--rows 100000] [--dir /tmp/coupler-bench] [--memory-rows 1000000]

(a) raw SQL: copy N customers into an empty CRM table with the same column mapping and write a coupling row each;
(b) coupler's full synchronization of the same rows into an empty CRM database (create and couple);
(c) coupler's incremental sync after changing 1% of the rows on each side;
(d) peak memory (max RSS) of (b) and (c) in their own processes, optionally at --memory-rows rows;
(e) the cost of field-level change detection: an incremental sync after 1% of the records changed on BOTH sides in
    different fields, which coupler merges (each side's change flows to the other) instead of declaring conflicts.
Prints each figure and the ratios (b)/(a) and (c)/(b). Targets: (b)/(a) <= 3, (c)/(b) <= 0.05, peak < 250 MB.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

STAMP = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
FIELDS = [
    ("displayName", "name"),
    ("addressLine1", "address1_line1"),
    ("addressLine2", "address1_line2"),
    ("city", "address1_city"),
    ("state", "address1_stateorprovince"),
    ("country", "address1_country"),
    ("postalCode", "address1_postalcode"),
    ("phoneNumber", "telephone1"),
    ("email", "emailaddress1"),
    ("website", "websiteurl"),
]


def _table(db: sqlite3.Connection, table: str, key: str, columns: list[str], modified: str) -> None:
    body = ", ".join(f'"{c}" TEXT' for c in columns)
    db.execute(f'CREATE TABLE "{table}" ("{key}" TEXT PRIMARY KEY, {body}, "{modified}" TEXT)')
    db.execute(f'CREATE INDEX "ix_{table}_mod" ON "{table}" ("{modified}", "{key}")')
    db.execute(
        f'CREATE TRIGGER "{table}_ins" AFTER INSERT ON "{table}" BEGIN '
        f'UPDATE "{table}" SET "{modified}" = {STAMP} WHERE rowid = NEW.rowid; END'
    )
    watched = ", ".join(f'"{c}"' for c in columns)
    db.execute(
        f'CREATE TRIGGER "{table}_upd" AFTER UPDATE OF {watched} ON "{table}" BEGIN '
        f'UPDATE "{table}" SET "{modified}" = {STAMP} WHERE rowid = NEW.rowid; END'
    )


def build_erp(path: Path, rows: int) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    local_columns = ["number", *(f for f, _ in FIELDS), "blocked"]
    _table(db, "customers", "id", local_columns, "lastModifiedDateTime")
    rng = random.Random(1)
    cities = ["Copenhagen", "Seattle", "London", "Berlin", "Toronto", "Madrid", "Oslo", "Lyon"]

    def generate() -> object:
        for n in range(rows):
            city = rng.choice(cities)
            yield (
                str(uuid.UUID(int=rng.getrandbits(128))),
                f"C{n:07d}",
                f"Customer {n} Ltd",
                f"{n} Main Street",
                "",
                city,
                "",
                "DK",
                f"{1000 + n % 8999}",
                f"+45 {n:08d}",
                f"info{n}@example.com",
                f"https://c{n}.example.com",
                "",
            )

    marks = ", ".join("?" * (len(local_columns) + 1))
    db.executemany(f"INSERT INTO customers (id, {', '.join(local_columns)}) VALUES ({marks})", generate())
    db.commit()
    db.close()


def build_crm(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    _table(db, "account", "accountid", ["accountnumber", *(i for _, i in FIELDS)], "modifiedon")
    db.commit()
    db.close()


def write_config(directory: Path, batch_size: int = 1000) -> Path:
    fields = ",\n  ".join(f'{{ local = "{a}", integration = "{b}" }}' for a, b in FIELDS)
    text = f"""
state = "sqlite:///state.db"
[sync]
batch_size = {batch_size}
[local]
name = "ERP"
url = "sqlite:///erp.db"
[integration]
name = "CRM"
url = "sqlite:///crm.db"
[[mappings]]
name = "CUSTOMER"
direction = "bidirectional"
local = {{ table = "customers", key = "id", display_key = "number", modified_on = "lastModifiedDateTime" }}
integration = {{ table = "account", key = "accountid", display_key = "name", modified_on = "modifiedon" }}
fields = [
  {fields},
  {{ local = "number", integration = "accountnumber", direction = "to-integration" }},
]
"""
    path = directory / "coupler.toml"
    path.write_text(text)
    return path


def raw_floor(directory: Path) -> float:
    """(a): the same copy in plain SQL, with a coupling row each, into a separate CRM database."""
    floor = directory / "floor"
    floor.mkdir()
    build_crm(floor / "crm.db")
    started = time.perf_counter()
    erp = sqlite3.connect(directory / "erp.db")
    crm = sqlite3.connect(floor / "crm.db")
    crm.execute("PRAGMA synchronous=NORMAL")
    crm.execute("CREATE TABLE couplings (local_key TEXT UNIQUE, integration_key TEXT UNIQUE, synced TEXT)")
    local_columns = ", ".join(["id", "number", *(f'"{a}"' for a, _ in FIELDS)])
    target_columns = ", ".join(["accountid", "accountnumber", *(b for _, b in FIELDS)])
    marks = ", ".join("?" * (len(FIELDS) + 2))
    cursor = erp.execute(f"SELECT {local_columns} FROM customers")
    while batch := cursor.fetchmany(1000):
        rows = [(str(uuid.uuid4()), *row[1:]) for row in batch]
        crm.executemany(f"INSERT INTO account ({target_columns}) VALUES ({marks})", rows)
        crm.executemany(
            "INSERT INTO couplings VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
            [(local[0], new[0]) for local, new in zip(batch, rows, strict=True)],
        )
        crm.commit()
    elapsed = time.perf_counter() - started
    erp.close()
    crm.close()
    return elapsed


def change_one_percent(directory: Path, rows: int) -> None:
    count = max(1, rows // 100)
    erp = sqlite3.connect(directory / "erp.db")
    erp.execute(
        "UPDATE customers SET city = city || ' (moved)' "
        "WHERE rowid IN (SELECT rowid FROM customers ORDER BY rowid LIMIT ?)",
        (count,),
    )
    erp.commit()
    erp.close()
    crm = sqlite3.connect(directory / "crm.db")
    crm.execute(
        "UPDATE account SET telephone1 = '+1 555 0100' "
        "WHERE rowid IN (SELECT rowid FROM account ORDER BY rowid DESC LIMIT ?)",
        (count,),
    )
    crm.commit()
    crm.close()


def change_both_sides(directory: Path, rows: int) -> None:
    """1% of the coupled pairs change on both sides, in different fields: a merge for field-level detection."""
    count = max(1, rows // 100)
    numbers = [f"C{n:07d}" for n in range(rows // 2, rows // 2 + count)]
    erp = sqlite3.connect(directory / "erp.db")
    erp.execute('CREATE INDEX IF NOT EXISTS "ix_customers_number" ON customers (number)')  # setup, not measured
    erp.executemany("UPDATE customers SET postalCode = '9999' WHERE number = ?", [(n,) for n in numbers])
    erp.commit()
    erp.close()
    crm = sqlite3.connect(directory / "crm.db")
    crm.execute('CREATE INDEX IF NOT EXISTS "ix_account_number" ON account (accountnumber)')
    crm.executemany(
        "UPDATE account SET websiteurl = 'https://merged.example' WHERE accountnumber = ?", [(n,) for n in numbers]
    )
    crm.commit()
    crm.close()


def run_phase(config: Path, phase: str) -> dict[str, float]:
    """Run one coupler phase in its own process so its peak memory is its own."""
    output = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--config", str(config)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def phase(config: Path, name: str) -> None:
    from coupler.bootstrap import open_coupler

    with open_coupler(config) as coupler:
        started = time.perf_counter()
        reports = [coupler.sync_full("CUSTOMER")] if name == "full" else coupler.sync_modified()
        elapsed = time.perf_counter() - started
    counters = [r.job.counters.as_dict() for r in reports]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_mb, "counters": counters}))


def measure(directory: Path, rows: int, batch_size: int) -> dict[str, object]:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    build_erp(directory / "erp.db", rows)
    build_crm(directory / "crm.db")
    config = write_config(directory, batch_size)
    floor = raw_floor(directory)
    full = run_phase(config, "full")
    change_one_percent(directory, rows)
    incremental = run_phase(config, "incremental")
    change_both_sides(directory, rows)
    merge = run_phase(config, "incremental")
    return {"rows": rows, "raw": floor, "full": full, "incremental": incremental, "merge": merge}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--memory-rows", type=int, default=0, help="also measure peak memory at this many rows")
    parser.add_argument("--batch-size", type=int, default=1000, help="the config's [sync] batch_size")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/coupler-bench"))
    parser.add_argument("--phase", choices=["full", "incremental"], help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phase(args.config, args.phase)
        return
    result = measure(args.dir, args.rows, args.batch_size)
    full, incremental = result["full"], result["incremental"]
    assert isinstance(full, dict) and isinstance(incremental, dict)
    raw = float(result["raw"])  # type: ignore[arg-type]
    print(f"rows: {args.rows:,}")
    print(f"(a) raw SQL copy + coupling rows: {raw:8.2f} s")
    print(
        f"(b) coupler full sync:            {full['seconds']:8.2f} s  peak {full['peak_mb']:.0f} MB  {full['counters']}"
    )
    print(
        f"(c) coupler incremental (1%+1%):  {incremental['seconds']:8.2f} s  "
        f"peak {incremental['peak_mb']:.0f} MB  {incremental['counters']}"
    )
    merge = result["merge"]
    assert isinstance(merge, dict)
    print(
        f"(e) incremental, 1% changed on both sides in different fields (merged): {merge['seconds']:.2f} s  "
        f"{merge['counters']}"
    )
    print(f"(b)/(a) = {full['seconds'] / raw:.2f}   target <= 3")
    print(f"(c)/(b) = {incremental['seconds'] / full['seconds']:.3f}  target <= 0.05")
    if args.memory_rows:
        big = measure(args.dir.with_name(args.dir.name + "-memory"), args.memory_rows, args.batch_size)
        big_full, big_incremental = big["full"], big["incremental"]
        assert isinstance(big_full, dict) and isinstance(big_incremental, dict)
        print(
            f"(d) at {args.memory_rows:,} rows: full {big_full['seconds']:.1f} s peak {big_full['peak_mb']:.0f} MB; "
            f"incremental {big_incremental['seconds']:.1f} s peak {big_incremental['peak_mb']:.0f} MB  target < 250 MB"
        )


if __name__ == "__main__":
    main()
