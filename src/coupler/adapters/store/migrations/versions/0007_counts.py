"""A mapping's statistics kept as counts (``coupler_counts``: couplings, failed, skipped, job errors, parked
conflicts, pending deletions), so that a page shows them without counting every coupling.

Triggers on the counted tables keep them, in the transaction of the write that changes them, whichever statement
writes (the unit of work, a decoupling, a bulk import): row triggers on SQLite (with a ``WHEN`` on updates, so that
an update that changes no counted value costs nothing more) and statement triggers with transition tables on
PostgreSQL (one upsert per statement, however many rows it writes). The counts of an existing database are computed
once here.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTS = "coupler_counts"
COLUMNS = ("couplings", "failed", "skipped", "errors", "conflicts", "pending_deletions")

_FAILED = "CASE WHEN {r}.to_integration_result = 'failure' OR {r}.from_integration_result = 'failure' THEN 1 ELSE 0 END"
_SKIPPED = "CASE WHEN {r}.skipped THEN 1 ELSE 0 END"

COUNTED: dict[str, dict[str, str]] = {
    # table: {count: its value for one row {r}, 0 or 1}
    "coupler_couplings": {"couplings": "1", "failed": _FAILED, "skipped": _SKIPPED},
    "coupler_record_failures": {"skipped": _SKIPPED},  # a skipped failed creation is a skipped record
    "coupler_job_errors": {"errors": "1"},
    "coupler_conflicts": {"conflicts": "1"},
    "coupler_pending_deletions": {"pending_deletions": "1"},
}
"""What each table adds to its mapping's counts. Only couplings and failures change a counted value on update."""


def _updated(facts: dict[str, str]) -> bool:
    return any(value != "1" for value in facts.values())


def _name(table: str, event: str) -> str:
    return f"{table}_count_{event}"


# SQLite: row triggers --------------------------------------------------------------------------------------------
def _sqlite_add(facts: dict[str, str], row: str, sign: str) -> str:
    columns = ", ".join(facts)
    values = ", ".join(f"{sign}({value.format(r=row)})" for value in facts.values())
    sets = ", ".join(f"{name} = {name} + excluded.{name}" for name in facts)
    return (
        f"INSERT INTO {COUNTS} (mapping, {columns}) VALUES ({row}.mapping, {values}) "
        f"ON CONFLICT (mapping) DO UPDATE SET {sets};"
    )


def _sqlite_triggers() -> list[str]:
    statements = []
    for table, facts in COUNTED.items():
        statements.append(
            f"CREATE TRIGGER {_name(table, 'insert')} AFTER INSERT ON {table} "
            f"BEGIN {_sqlite_add(facts, 'NEW', '+')} END"
        )
        statements.append(
            f"CREATE TRIGGER {_name(table, 'delete')} AFTER DELETE ON {table} "
            f"BEGIN {_sqlite_add(facts, 'OLD', '-')} END"
        )
        if _updated(facts):
            changed = " OR ".join(
                [
                    "OLD.mapping IS NOT NEW.mapping",
                    *(f"({v.format(r='OLD')}) IS NOT ({v.format(r='NEW')})" for v in facts.values() if v != "1"),
                ]
            )
            statements.append(
                f"CREATE TRIGGER {_name(table, 'update')} AFTER UPDATE ON {table} WHEN {changed} "
                f"BEGIN {_sqlite_add(facts, 'OLD', '-')} {_sqlite_add(facts, 'NEW', '+')} END"
            )
    return statements


# PostgreSQL: statement triggers over transition tables -------------------------------------------------------------
def _pg_rows(facts: dict[str, str], source: str, sign: str) -> str:
    values = ", ".join(f"{sign}({value.format(r='r')}) AS {name}" for name, value in facts.items())
    return f"SELECT r.mapping, {values} FROM {source} r"


def _pg_upsert(facts: dict[str, str], rows: str) -> str:
    columns = ", ".join(facts)
    sums = ", ".join(f"sum(d.{name})" for name in facts)
    changed = " OR ".join(f"sum(d.{name}) <> 0" for name in facts)
    sets = ", ".join(f"{name} = k.{name} + EXCLUDED.{name}" for name in facts)
    return (
        f"INSERT INTO {COUNTS} AS k (mapping, {columns}) SELECT d.mapping, {sums} FROM ({rows}) d "
        f"GROUP BY d.mapping HAVING {changed} ON CONFLICT (mapping) DO UPDATE SET {sets};"
    )


def _pg_triggers() -> list[str]:
    statements = []
    for table, facts in COUNTED.items():
        events = {
            "insert": ("REFERENCING NEW TABLE AS new_rows", _pg_rows(facts, "new_rows", "+")),
            "delete": ("REFERENCING OLD TABLE AS old_rows", _pg_rows(facts, "old_rows", "-")),
        }
        if _updated(facts):
            both = f"{_pg_rows(facts, 'new_rows', '+')} UNION ALL {_pg_rows(facts, 'old_rows', '-')}"
            events["update"] = ("REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows", both)
        for event, (referencing, rows) in events.items():
            name = _name(table, event)
            statements.append(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {_pg_upsert(facts, rows)} RETURN NULL; END $$"
            )
            statements.append(
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} {referencing} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
    return statements


def _recount() -> str:
    """Every mapping's counts, from the counted tables."""
    parts = []
    for table, facts in COUNTED.items():
        values = ", ".join(
            f"{facts[name].format(r='r')} AS {name}" if name in facts else f"0 AS {name}" for name in COLUMNS
        )
        parts.append(f"SELECT r.mapping, {values} FROM {table} r")
    sums = ", ".join(f"sum(d.{name})" for name in COLUMNS)
    return (
        f"INSERT INTO {COUNTS} (mapping, {', '.join(COLUMNS)}) SELECT d.mapping, {sums} "
        f"FROM ({' UNION ALL '.join(parts)}) d GROUP BY d.mapping"
    )


def upgrade() -> None:
    op.create_table(
        COUNTS,
        sa.Column("mapping", sa.String(200), nullable=False),
        *(sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False) for name in COLUMNS),
        sa.PrimaryKeyConstraint("mapping", name="pk_coupler_counts"),
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _pg_triggers() if postgres else _sqlite_triggers():
        op.execute(statement)
    op.execute(_recount())


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, facts in COUNTED.items():
        for event in ("insert", "delete", *(("update",) if _updated(facts) else ())):
            op.execute(f"DROP TRIGGER {_name(table, event)}" + (f" ON {table}" if postgres else ""))
            if postgres:
                op.execute(f"DROP FUNCTION {_name(table, event)}()")
    op.drop_table(COUNTS)
