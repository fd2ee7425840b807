"""Triggers that stamp every insert and update with the modified-on time, as the real systems do.

Per table three triggers, each doing ``UPDATE t SET <modified-on> = now WHERE rowid = NEW.rowid``:

- ``<t>_stamp_insert``: after every insert (it also fills number-series columns left NULL);
- ``<t>_stamp_update``: after an update of any column except the modified-on one, so its own write does not
  fire it again, even with ``PRAGMA recursive_triggers = ON``;
- ``<t>_stamp_override``: after an update that sets the modified-on column itself to anything but now, so a
  program cannot choose its own timestamp. Its WHEN clause is false for the triggers' own writes ('now' does not
  change within one statement), which ends any recursion.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from sqlalchemy import Connection, MetaData, Table

from coupler.demo.ddl import NOW_SQL, quote

__all__ = ["install_triggers", "trigger_statements"]


def trigger_statements(table: Table) -> Iterator[str]:
    name = table.name
    modified_on: str = table.info["modified_on"]
    fills: Mapping[str, str] = table.info.get("fill_on_insert", {})
    writable = [c.name for c in table.columns if c.name != modified_on and c.computed is None]
    t, mod = quote(name), quote(modified_on)
    stamp = f"UPDATE {t} SET {mod} = {NOW_SQL}"
    where = "WHERE rowid = NEW.rowid"
    fill = "".join(f", {quote(col)} = coalesce(NEW.{quote(col)}, {expr})" for col, expr in fills.items())
    yield (
        f"CREATE TRIGGER {quote(name + '_stamp_insert')} AFTER INSERT ON {t} FOR EACH ROW "
        f"BEGIN {stamp}{fill} {where}; END"
    )
    yield (
        f"CREATE TRIGGER {quote(name + '_stamp_update')} AFTER UPDATE OF {', '.join(map(quote, writable))} "
        f"ON {t} FOR EACH ROW BEGIN {stamp} {where}; END"
    )
    yield (
        f"CREATE TRIGGER {quote(name + '_stamp_override')} AFTER UPDATE OF {mod} ON {t} FOR EACH ROW "
        f"WHEN NEW.{mod} IS NOT {NOW_SQL} BEGIN {stamp} {where}; END"
    )


def install_triggers(connection: Connection, metadata: MetaData) -> None:
    for table in metadata.sorted_tables:
        for statement in trigger_statements(table):
            connection.exec_driver_sql(statement)
