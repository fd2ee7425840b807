"""Benchmark: coupler between two databases beside dlt and the plain-SQL floor, on the same rows in the same run.

    pip install -e '.[bench]'      # dlt, pyarrow: benchmark only, never the package's dependencies
    python bench/dlt_compare.py [--rows 100000] [--database sqlite|postgresql|both] [--big 1000000] [--skip-dlt]

The rows are sync_benchmark.py's demo customers (ERP ``customers`` -> CRM ``account``, ten mapped fields and the
number). Each figure is one whole process (a child Python process: its wall time from start to exit, and its peak
resident memory as the operating system counts it):

(a) the floor: one ``INSERT ... SELECT`` of the mapped columns into the CRM table, new keys chosen in SQL, and one
    ``INSERT ... SELECT`` of a coupling row each (SQLite: the ERP database ATTACHed; PostgreSQL: both schemas of one
    database);
(b) coupler's full synchronization (Python API ``open_coupler(...).sync_full``, bidirectional mapping: creates and
    couples every customer, then reads the CRM side back);
(c) coupler's incremental synchronization after 1% of the rows changed on each side (``sync_modified``);
(d) dlt 1.x: ``sql_table(backend=...)`` of the ERP table with ``write_disposition="merge"`` (primary key ``id``) and an
    incremental cursor on the modified-on, into the same kind of database through dlt's ``sqlalchemy`` destination, with
    the ``pyarrow`` and the ``sqlalchemy`` backends; then the same pipeline again after the 1% change (dlt is one-way:
    it copies the ERP side only, and keeps no coupling).

Prints one table: seconds, CPU seconds (user + system, steadier on a shared machine) and peak MB per figure, the
seconds as a ratio to the floor and to dlt's pyarrow merge.
Targets (issue 15): full <= dlt pyarrow, full <= 2x floor, incremental < 0.1x full, peak < 250 MB at 1,000,000 rows.
PostgreSQL: 127.0.0.1:5432, database ``test``, user ``postgres`` (``--pg-url``); the schemas ``bench_erp``,
``bench_crm``, ``bench_state``, ``bench_floor`` and ``bench_dlt_*`` are dropped and made anew.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sync_benchmark as demo

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MAPPED = ["number", *(local for local, _ in demo.FIELDS)]
TARGET = ["accountnumber", *(crm for _, crm in demo.FIELDS)]


# building the databases ----------------------------------------------------------------------------------------
def build_sqlite(directory: Path, rows: int) -> None:
    demo.build_erp(directory / "erp.db", rows)
    demo.build_crm(directory / "crm.db")
    demo.write_config(directory)


def _pg(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def _pg_table(db: Any, schema: str, table: str, key: str, columns: list[str], modified: str) -> None:
    body = ", ".join(f'"{c}" TEXT' for c in columns)
    db.execute(f'CREATE TABLE {schema}."{table}" ("{key}" TEXT PRIMARY KEY, {body}, "{modified}" TIMESTAMPTZ)')
    db.execute(f'CREATE INDEX ON {schema}."{table}" ("{modified}", "{key}")')
    db.execute(
        f"CREATE FUNCTION {schema}.stamp() RETURNS trigger LANGUAGE plpgsql AS "
        f'$$ BEGIN NEW."{modified}" := clock_timestamp(); RETURN NEW; END $$'
    )
    watched = ", ".join(f'"{c}"' for c in columns)
    db.execute(
        f'CREATE TRIGGER stamp_ins BEFORE INSERT ON {schema}."{table}" FOR EACH ROW EXECUTE FUNCTION {schema}.stamp()'
    )
    db.execute(
        f'CREATE TRIGGER stamp_upd BEFORE UPDATE OF {watched} ON {schema}."{table}" '
        f"FOR EACH ROW EXECUTE FUNCTION {schema}.stamp()"
    )


def build_postgresql(directory: Path, rows: int, url: str) -> None:
    """The same rows as on SQLite (made there, then copied in with COPY)."""
    demo.build_erp(directory / "erp.db", rows)
    with _pg(url) as db:
        for schema in ("bench_erp", "bench_crm", "bench_state", "bench_floor"):
            db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            db.execute(f"CREATE SCHEMA {schema}")
        db.execute("DROP SCHEMA IF EXISTS bench_dlt_pyarrow CASCADE")
        db.execute("DROP SCHEMA IF EXISTS bench_dlt_sqlalchemy CASCADE")
        _pg_table(db, "bench_erp", "customers", "id", [*MAPPED, "blocked"], "lastModifiedDateTime")
        _pg_table(db, "bench_crm", "account", "accountid", TARGET, "modifiedon")
        source = sqlite3.connect(directory / "erp.db")
        names = ", ".join(f'"{c}"' for c in ["id", *MAPPED, "blocked"])
        with db.cursor().copy(f"COPY bench_erp.customers ({names}) FROM STDIN") as copy:
            for row in source.execute(f"SELECT {names} FROM customers ORDER BY rowid"):
                copy.write_row(row)
        source.close()
        db.execute("ANALYZE")
    demo.write_config(directory)
    text = (directory / "coupler.toml").read_text()
    psycopg_url = url.replace("postgresql://", "postgresql+psycopg://")
    text = (
        text.replace('"sqlite:///state.db"', f'"{psycopg_url}?options=-csearch_path%3Dbench_state"')
        .replace('"sqlite:///erp.db"', f'"{psycopg_url}"')
        .replace('"sqlite:///crm.db"', f'"{psycopg_url}"')
        .replace('table = "customers"', 'table = "bench_erp.customers"')
        .replace('table = "account"', 'table = "bench_crm.account"')
    )
    (directory / "coupler.toml").write_text(text)


def change_postgresql(url: str, rows: int) -> None:
    count = max(1, rows // 100)
    with _pg(url) as db:
        db.execute(
            "UPDATE bench_erp.customers SET city = city || ' (moved)' WHERE id IN "
            "(SELECT id FROM bench_erp.customers ORDER BY number LIMIT %s)",
            (count,),
        )
        db.execute(
            "UPDATE bench_crm.account SET telephone1 = '+1 555 0100' WHERE accountid IN "
            "(SELECT accountid FROM bench_crm.account ORDER BY accountnumber DESC LIMIT %s)",
            (count,),
        )


# the figures, each in its own process ---------------------------------------------------------------------------
def floor_sqlite(directory: Path) -> None:
    floor = directory / "floor"
    shutil.rmtree(floor, ignore_errors=True)
    floor.mkdir()
    demo.build_crm(floor / "crm.db")
    crm = sqlite3.connect(floor / "crm.db")
    crm.execute("ATTACH DATABASE ? AS erp", (str(directory / "erp.db"),))
    crm.execute("CREATE TABLE couplings (local_key TEXT UNIQUE, integration_key TEXT UNIQUE, synced TEXT)")
    crm.execute("CREATE TEMP TABLE new_keys AS SELECT id, lower(hex(randomblob(16))) AS new_key FROM erp.customers")
    mapped = ", ".join(f'c."{c}"' for c in MAPPED)
    crm.execute(
        f"INSERT INTO account (accountid, {', '.join(TARGET)}) "
        f"SELECT k.new_key, {mapped} FROM erp.customers c JOIN new_keys k ON k.id = c.id"
    )
    crm.execute(f"INSERT INTO couplings SELECT id, new_key, {demo.STAMP} FROM new_keys")
    crm.commit()
    crm.close()


def floor_postgresql(url: str) -> None:
    with _pg(url) as db, db.transaction():
        _pg_table(db, "bench_floor", "account", "accountid", TARGET, "modifiedon")  # its triggers too, as coupler's
        db.execute(
            "CREATE TABLE bench_floor.couplings (local_key TEXT UNIQUE, integration_key TEXT UNIQUE, at TIMESTAMPTZ)"
        )
        db.execute(
            "CREATE TEMP TABLE new_keys AS SELECT id, gen_random_uuid()::text AS new_key FROM bench_erp.customers"
        )
        mapped = ", ".join(f'c."{c}"' for c in MAPPED)
        db.execute(
            f"INSERT INTO bench_floor.account (accountid, {', '.join(TARGET)}) "
            f"SELECT k.new_key, {mapped} FROM bench_erp.customers c JOIN new_keys k ON k.id = c.id"
        )
        db.execute("INSERT INTO bench_floor.couplings SELECT id, new_key, now() FROM new_keys")


def coupler_phase(directory: Path, phase: str) -> dict[str, Any]:
    from coupler.bootstrap import open_coupler

    os.chdir(directory)
    with open_coupler(directory / "coupler.toml") as coupler:
        reports = [coupler.sync_full("CUSTOMER")] if phase == "full" else coupler.sync_modified()
    return {"counters": [r.job.counters.as_dict() for r in reports]}


def dlt_phase(directory: Path, database: str, backend: str, url: str) -> dict[str, Any]:
    import dlt
    from dlt.destinations import sqlalchemy as sqlalchemy_destination
    from dlt.sources.sql_database import sql_table

    os.environ["DLT_DATA_DIR"] = str(directory / f"dlt-{backend}")
    os.environ["RUNTIME__LOG_LEVEL"] = "WARNING"
    if database == "sqlite":
        source_url, schema, table = f"sqlite:///{directory / 'erp.db'}", None, "customers"
        target = f"sqlite:///{directory / f'dlt_{backend}.db'}"
    else:
        source_url, schema, table, target = url, "bench_erp", "customers", url
    if target.startswith("postgresql://"):
        source_url = target = url.replace("postgresql://", "postgresql+psycopg://")
    resource_ = sql_table(
        credentials=source_url,
        table=table,
        schema=schema,
        backend=backend,  # type: ignore[arg-type]
        included_columns=["id", *MAPPED, "lastModifiedDateTime"],
        incremental=dlt.sources.incremental("lastModifiedDateTime"),
        write_disposition="merge",
        primary_key="id",
    )
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{backend}",
        pipelines_dir=str(directory / f"dlt-{backend}"),
        destination=sqlalchemy_destination(credentials=target),
        dataset_name=f"bench_dlt_{backend}",
    )
    info = pipeline.run(resource_)
    return {"loads": len(info.loads_ids)}


def child(args: argparse.Namespace) -> None:
    directory = Path(args.dir)
    result: dict[str, Any] = {}
    if args.child == "floor":
        floor_sqlite(directory) if args.database == "sqlite" else floor_postgresql(args.pg_url)
    elif args.child in ("full", "incremental"):
        result = coupler_phase(directory, args.child)
    else:
        result = dlt_phase(directory, args.database, args.child.removeprefix("dlt-"), args.pg_url)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["peak_mb"] = usage.ru_maxrss / 1024
    result["cpu"] = usage.ru_utime + usage.ru_stime  # steadier than wall time on a shared machine
    print(json.dumps(result))


def run_child(directory: Path, name: str, database: str, pg_url: str) -> dict[str, Any]:
    """One figure in its own process: whole-process wall time and its own peak memory."""
    command = [sys.executable, __file__, "--child", name, "--dir", str(directory), "--database", database]
    started = time.perf_counter()
    done = subprocess.run([*command, "--pg-url", pg_url], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"{name} failed")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["seconds"] = seconds
    return result


def measure(directory: Path, rows: int, database: str, pg_url: str, *, dlt: bool) -> dict[str, dict[str, Any]]:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    if database == "sqlite":
        build_sqlite(directory, rows)
    else:
        build_postgresql(directory, rows, pg_url)
    figures = {"floor": run_child(directory, "floor", database, pg_url)}
    backends = ("pyarrow", "sqlalchemy") if dlt else ()
    for backend in backends:
        figures[f"dlt {backend} full"] = run_child(directory, f"dlt-{backend}", database, pg_url)
    figures["coupler full"] = run_child(directory, "full", database, pg_url)
    if database == "sqlite":
        demo.change_one_percent(directory, rows)
    else:
        change_postgresql(pg_url, rows)
    figures["coupler incremental"] = run_child(directory, "incremental", database, pg_url)
    for backend in backends:
        figures[f"dlt {backend} incremental"] = run_child(directory, f"dlt-{backend}", database, pg_url)
    return figures


def table(database: str, rows: int, figures: dict[str, dict[str, Any]]) -> None:
    floor = figures["floor"]["seconds"]
    dlt_full = figures.get("dlt pyarrow full", {}).get("seconds")
    print(f"\n{database}, {rows:,} rows (whole process: wall seconds, peak MB)")
    print(f"{'figure':28} {'seconds':>9} {'cpu s':>7} {'peak MB':>8} {'x floor':>8} {'x dlt pyarrow':>14}")
    for name, figure in figures.items():
        seconds = figure["seconds"]
        versus = f"{seconds / dlt_full:14.2f}" if dlt_full else f"{'-':>14}"
        print(f"{name:28} {seconds:9.2f} {figure['cpu']:7.2f} {figure['peak_mb']:8.0f} {seconds / floor:8.2f} {versus}")
    full, incremental = figures["coupler full"], figures["coupler incremental"]
    print(f"coupler incremental / coupler full = {incremental['seconds'] / full['seconds']:.3f}  (target < 0.1)")
    print(f"coupler counters: full {full.get('counters')}; incremental {incremental.get('counters')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--big", type=int, default=0, help="also run at this many rows (e.g. 1000000)")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--skip-dlt", action="store_true", help="coupler and the floor only")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/coupler-dlt-compare"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    databases = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for rows in [args.rows, *([args.big] if args.big else [])]:
        for database in databases:
            figures = measure(args.dir / f"{database}-{rows}", rows, database, args.pg_url, dlt=not args.skip_dlt)
            table(database, rows, figures)


if __name__ == "__main__":
    main()
