"""Create the demo: an ERP database, a CRM database and a coupler.toml that couples them.

The files are first built in a temporary folder beside the target and then moved into place, so a failure
leaves the previous demo (if any) untouched.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from sqlalchemy import MetaData, create_engine, func, select
from sqlalchemy.pool import NullPool

from coupler.demo.config_template import render_demo_config
from coupler.demo.crm.schema import crm_metadata
from coupler.demo.data import demo_data
from coupler.demo.erp.schema import erp_metadata
from coupler.demo.erp.seed import Row
from coupler.demo.triggers import install_triggers
from coupler.domain.errors import CouplerError

__all__ = ["CONFIG_FILE", "CRM_FILE", "ERP_FILE", "STATE_FILE", "DemoExists", "DemoResult", "create_demo"]

ERP_FILE = "erp.db"
CRM_FILE = "crm.db"
CONFIG_FILE = "coupler.toml"
STATE_FILE = "coupler-state.db"
_SQLITE_SIDECARS = ("-journal", "-wal", "-shm")


class DemoExists(CouplerError):
    """The demo files already exist; use --force to replace them."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoResult:
    """Where the demo was written and how many rows each table holds."""

    directory: Path
    erp: Path
    crm: Path
    config: Path
    erp_counts: Mapping[str, int]
    crm_counts: Mapping[str, int]


def _database_files(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + suffix) for suffix in _SQLITE_SIDECARS)]


def _write_database(path: Path, metadata: MetaData, rows: Mapping[str, Sequence[Row]]) -> Mapping[str, int]:
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with engine.begin() as connection:
            metadata.create_all(connection)
            install_triggers(connection, metadata)
            for name, table_rows in rows.items():
                if table_rows:
                    connection.execute(metadata.tables[name].insert(), list(table_rows))
        with engine.connect() as connection:
            counts = {
                table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in metadata.sorted_tables
            }
    finally:
        engine.dispose()
    return MappingProxyType(counts)


def create_demo(directory: Path, *, force: bool = False, seed: int = 7) -> DemoResult:
    """Write erp.db, crm.db and coupler.toml into ``directory`` (created if missing).

    Existing demo files are replaced only with ``force``, which also removes a coupler-state.db beside them
    (its couplings would point at records that no longer exist).
    """
    directory = Path(directory)
    targets = {name: directory / name for name in (ERP_FILE, CRM_FILE, CONFIG_FILE)}
    state = directory / STATE_FILE
    existing = [path for path in (*targets.values(), state) if path.exists()]
    if existing and not force:
        names = ", ".join(path.name for path in existing)
        raise DemoExists(f"{names} already exist in {directory}; use --force to replace them.")
    directory.mkdir(parents=True, exist_ok=True)
    data = demo_data(seed)
    with tempfile.TemporaryDirectory(prefix=".coupler-demo-", dir=directory) as scratch:
        built = {name: Path(scratch) / name for name in targets}
        erp_counts = _write_database(built[ERP_FILE], erp_metadata(), data.erp)
        crm_counts = _write_database(built[CRM_FILE], crm_metadata(), data.crm)
        built[CONFIG_FILE].write_text(render_demo_config(), encoding="utf-8")
        for path in (*_database_files(state), *_database_files(targets[ERP_FILE]), *_database_files(targets[CRM_FILE])):
            path.unlink(missing_ok=True)
        for name, path in built.items():
            path.replace(targets[name])
    return DemoResult(
        directory=directory,
        erp=targets[ERP_FILE],
        crm=targets[CRM_FILE],
        config=targets[CONFIG_FILE],
        erp_counts=erp_counts,
        crm_counts=crm_counts,
    )
