"""Creating SQLAlchemy engines the way coupler needs them, for connectors and the state store alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import NoSuchModuleError

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "create_sql_engine", "driver_problem", "engine_url"]

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 16 * 1024  # per connection; SQLite's default is 2 MiB

_PACKAGES = {
    "MySQLdb": "mysqlclient",
    "pymysql": "PyMySQL",
    "mysql": "mysql-connector-python",
    "mariadb": "mariadb",
    "psycopg": "psycopg[binary]",
    "psycopg2": "psycopg2-binary",
    "pg8000": "pg8000",
    "asyncpg": "asyncpg",
    "pyodbc": "pyodbc",
    "pymssql": "pymssql",
    "oracledb": "oracledb",
    "cx_Oracle": "cx_Oracle",
}
"""The module a SQLAlchemy dialect imports -> the package that installs it (where the names differ or are unclear)."""


def engine_url(url: str | URL) -> URL:
    """``url`` as coupler connects to it: a bare ``postgresql://`` uses psycopg 3, the driver coupler installs."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def driver_problem(url: str | URL) -> str | None:
    """Why no engine can be made for ``url`` (a database kind SQLAlchemy does not know, or a driver that is not
    installed), as a sentence naming what to install; None when one can. Imports the driver to find out."""
    parsed = engine_url(url)
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        return f"{parsed.drivername}:// is no database kind SQLAlchemy knows (like sqlite:// or postgresql://)"
    if parsed.get_backend_name() == "sqlite" and parsed.get_driver_name() == "pysqlite":
        return None  # the standard library's sqlite3
    try:
        dialect.import_dbapi()
    except ImportError as error:
        module = (error.name or "").split(".")[0] or parsed.get_driver_name()
        package = _PACKAGES.get(module, module)
        shown = f'"{package}"' if "[" in package else package
        return (
            f"{parsed.drivername}:// needs the database driver {module}, which is not installed; "
            f"install it with: pip install {shown}"
        )
    return None


def create_sql_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``. For SQLite files: WAL, ``synchronous=NORMAL``, a 16 MiB page cache, temporary storage
    in memory, a busy timeout, foreign keys on, and
    real transactions (the driver's own implicit ones are switched off and SQLAlchemy emits ``BEGIN``), so a failed
    batch rolls back completely. Other databases get connections checked before use."""
    parsed = engine_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)
    engine = create_engine(parsed, **kwargs)
    in_memory = not parsed.database or parsed.database == ":memory:"

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the "begin" listener below emits BEGIN
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute(
                    f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}"
                )  # keys are random GUIDs: keep indexes in memory
            # statement journals and temporary indexes in memory: an insert that fires triggers (the couplings'
            # counts, a table's modified-on) otherwise writes a temporary file a dozen times per row
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine
