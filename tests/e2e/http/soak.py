"""The soak test's world: the customers and accounts it adds to the demo, the edits its users make (a ledger of every
value written, in commit order), and what it checks after the runs: duplicates, orphans and lost edits.

The soak's records are named ``Soak L00001`` (made in Business Central) and ``Soak I00001`` (made in Sales); a name is
never edited, so it identifies a record and its counterpart on both sides. Users edit four bidirectional fields of
the CUSTOMER mapping, each write a value never written before, so the value a field holds says which write it came
from.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coupler.domain.mapping import Side

__all__ = ["FIELDS", "PREFIX", "Editor", "Findings", "Ledger", "Sides", "Write", "examine", "query", "wait_until"]

PREFIX = "Soak "
FIELDS = {
    "city": "address1_city",
    "phoneNumber": "telephone1",
    "addressLine1": "address1_line1",
    "postalCode": "address1_postalcode",
}
"""The local field -> the integration field of the CUSTOMER pairs the users edit."""


@dataclass(frozen=True, kw_only=True)
class Table:
    """One side's table of the CUSTOMER mapping, as the users see it."""

    side: Side
    db: Path
    name: str
    key: str
    label: str
    scope: str
    """The mapping's filter as SQL."""

    def column(self, local_field: str) -> str:
        return local_field if self.side is Side.LOCAL else FIELDS[local_field]


@dataclass(frozen=True, kw_only=True)
class Sides:
    local: Table
    integration: Table
    state: Path

    @staticmethod
    def of(directory: Path) -> Sides:
        return Sides(
            local=Table(
                side=Side.LOCAL,
                db=directory / "erp.db",
                name="customers",
                key="id",
                label="displayName",
                scope="blocked = ''",
            ),
            integration=Table(
                side=Side.INTEGRATION,
                db=directory / "crm.db",
                name="account",
                key="accountid",
                label="name",
                scope="statecode = 0 AND customertypecode = 3",
            ),
            state=directory / "coupler-state.db",
        )

    def __getitem__(self, side: Side) -> Table:
        return self.local if side is Side.LOCAL else self.integration


@contextmanager
def connect(db: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(db, timeout=60)) as connection:
        connection.row_factory = sqlite3.Row
        yield connection


def query(db: Path, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    with connect(db) as connection:
        return list(connection.execute(sql, params))


@dataclass(frozen=True, kw_only=True)
class Write:
    seq: int
    side: Side
    value: str


class Ledger:
    """Every value the soak's users wrote, per record name and field, in commit order (``seq``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        """Held around each write and its entry, so that ``seq`` is the commit order."""
        self.seq = 0
        self.writes: dict[tuple[str, str], list[Write]] = defaultdict(list)
        self.counts: Counter[str] = Counter()

    def record(self, side: Side, names: Iterable[str], local_field: str, value: str) -> None:
        self.seq += 1
        for name in names:
            self.writes[name, local_field].append(Write(seq=self.seq, side=side, value=value))

    def value(self) -> str:
        """A value never written before (short enough for any of the fields)."""
        return f"v{self.seq + 1:07d}"


class Editor:
    """The users of both systems: they add records, edit one field of one record, or update a field of many records in
    one statement (one modified-on for all). ``during`` keeps editing in a thread while a run goes on."""

    def __init__(self, sides: Sides, ledger: Ledger, rng: random.Random) -> None:
        self.sides, self.ledger, self.rng = sides, ledger, rng
        self.created: Counter[Side] = Counter()
        self._names: dict[Side, list[str]] = {}

    def refresh(self) -> None:
        """Learn which soak records each side holds now (coupler creates counterparts)."""
        for side in Side:
            table = self.sides[side]
            rows = query(table.db, f'SELECT "{table.label}" AS n FROM "{table.name}" WHERE "{table.label}" LIKE ?',
                         (PREFIX + "%",))  # fmt: skip
            self._names[side] = sorted(row["n"] for row in rows)

    def create(self, side: Side, count: int) -> None:
        """``count`` new records on ``side`` (in one transaction), each field given a value."""
        table = self.sides[side]
        letter = "L" if side is Side.LOCAL else "I"
        with self.ledger.lock, connect(table.db) as connection:
            rows = []
            for _ in range(count):
                self.created[side] += 1
                name = f"{PREFIX}{letter}{self.created[side]:05d}"
                values = {}
                for local_field in FIELDS:
                    values[local_field] = self.ledger.value()
                    self.ledger.record(side, [name], local_field, values[local_field])
                rows.append((name, *values.values()))
            columns = [table.label, *(table.column(f) for f in FIELDS)]
            if side is Side.LOCAL:
                extra = {"salespersonCode": "PS", "currencyCode": "", "paymentTermsCode": "COD", "blocked": ""}
            else:
                extra = {"ownerid": self._owner(connection), "statecode": 0, "customertypecode": 3}
            names = ", ".join(f'"{c}"' for c in [*columns, *extra])
            marks = ", ".join("?" for _ in [*columns, *extra])
            connection.executemany(
                f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', [(*row, *extra.values()) for row in rows]
            )
            connection.commit()
        self._names.setdefault(side, []).extend(row[0] for row in rows)

    @staticmethod
    def _owner(connection: sqlite3.Connection) -> str:
        row = connection.execute("SELECT systemuserid FROM systemuser WHERE fullname = 'Peter Saddow'").fetchone()
        return str(row[0])

    def edit(self, side: Side, count: int = 1) -> int:
        """One statement setting one field of ``count`` records of ``side`` (picked at random) to one new value."""
        names = self._names.get(side) or []
        if not names:
            return 0
        chosen = self.rng.sample(names, min(count, len(names)))
        local_field = self.rng.choice(list(FIELDS))
        table = self.sides[side]
        column = table.column(local_field)
        with self.ledger.lock, connect(table.db) as connection:
            value = self.ledger.value()
            marks = ", ".join("?" for _ in chosen)
            sql = f'UPDATE "{table.name}" SET "{column}" = ? WHERE "{table.label}" IN ({marks})'
            connection.execute(sql, (value, *chosen))  # every record of a name, duplicates too
            connection.commit()
            self.ledger.record(side, chosen, local_field, value)
        kind = "single-row edits" if count == 1 else "multi-row updates"
        self.ledger.counts[kind] += 1
        self.ledger.counts["rows edited"] += len(chosen)
        return len(chosen)

    def both(self) -> None:
        """The same field of one record edited on both sides (a conflict unless coupler runs in between)."""
        names = sorted(set(self._names.get(Side.LOCAL, [])) & set(self._names.get(Side.INTEGRATION, [])))
        if not names:
            return
        name, local_field = self.rng.choice(names), self.rng.choice(list(FIELDS))
        for side in Side:
            table = self.sides[side]
            with self.ledger.lock, connect(table.db) as connection:
                value = self.ledger.value()
                sql = f'UPDATE "{table.name}" SET "{table.column(local_field)}" = ? WHERE "{table.label}" = ?'
                connection.execute(sql, (value, name))
                connection.commit()
                self.ledger.record(side, [name], local_field, value)
        self.ledger.counts["same field edited on both sides"] += 1

    @contextmanager
    def during(self, *, pause: float) -> Iterator[None]:
        """Users keep editing (both sides, now and then several records in one statement) until the block ends."""
        stop = threading.Event()
        rng = random.Random(self.rng.random())

        def work() -> None:
            while not stop.wait(rng.uniform(0, 2 * pause)):
                side = rng.choice(list(Side))
                roll = rng.random()
                if roll < 0.1:
                    self.edit(side, rng.randint(5, 60))
                elif roll < 0.15:
                    self.both()
                else:
                    self.edit(side)

        thread = threading.Thread(target=work, name="soak-users", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=60)


@dataclass(kw_only=True)
class Findings:
    """What one examination found (names of records, and edits as (name, field, value written))."""

    duplicates: dict[str, int] = field(default_factory=dict)
    """"side: name" -> how many records beyond one hold it (or couplings beyond one for one record)."""
    orphans: list[str] = field(default_factory=list)
    lost: list[tuple[str, str, str, str]] = field(default_factory=list)
    """(name, field, what was expected, what the sides hold)."""
    parked: int = 0
    stale: int = 0
    """Fields of parked conflicts that show a value their record no longer holds."""
    held: int = 0
    """Edits present on their side only, waiting behind a parked conflict of their record."""
    pairs: int = 0


def _rows(table: Table) -> dict[str, list[sqlite3.Row]]:
    rows: dict[str, list[sqlite3.Row]] = defaultdict(list)
    for row in query(table.db, f'SELECT * FROM "{table.name}" WHERE {table.scope}'):
        rows[str(row[table.label]).strip().lower()].append(row)
    return rows


def examine(sides: Sides, ledger: Ledger, parked: Mapping[str, Any], *, complete: bool) -> Findings:
    """Check the soak's records on both sides against the ledger and the couplings. Duplicates and lost edits are
    checked on every coupled pair (``parked``: local key -> local field -> conflicting field, of the pairs with a
    parked conflict); ``complete``
    (after a full run) also asks that every soak record be coupled."""
    found = Findings()
    local, integration = _rows(sides.local), _rows(sides.integration)
    couplings = query(
        sides.state, "SELECT local_key, integration_key FROM coupler_couplings WHERE mapping = 'CUSTOMER'"
    )
    for side, rows in ((Side.LOCAL, local), (Side.INTEGRATION, integration)):
        for same in rows.values():
            if len(same) > 1:
                found.duplicates[f"{side}: {same[0][sides[side].label]}"] = len(same) - 1
    for side, column in ((Side.LOCAL, "local_key"), (Side.INTEGRATION, "integration_key")):
        for key, count in Counter(c[column] for c in couplings).items():
            if count > 1:
                found.duplicates[f"{side} coupled {count} times: {key}"] = count - 1
    rows_by_key = {side: {str(r[sides[side].key]): r for rs in rows.values() for r in rs}
                   for side, rows in ((Side.LOCAL, local), (Side.INTEGRATION, integration))}  # fmt: skip
    coupled: dict[str, list[tuple[sqlite3.Row, sqlite3.Row]]] = defaultdict(list)
    for c in couplings:
        pair = rows_by_key[Side.LOCAL].get(c["local_key"]), rows_by_key[Side.INTEGRATION].get(c["integration_key"])
        if pair[0] is None or pair[1] is None:
            continue
        name, other = (str(row[sides[side].label]).strip().lower() for row, side in zip(pair, Side, strict=True))
        if not name.startswith(PREFIX.lower()):
            continue
        if other != name:
            found.duplicates[f"coupled to another record: {name} ~ {other}"] = 1
            continue
        coupled[name].append((pair[0], pair[1]))
    found.pairs = sum(map(len, coupled.values()))
    if complete:
        for side, rows in ((Side.LOCAL, local), (Side.INTEGRATION, integration)):
            found.orphans += [f"{side}: {n}" for n in rows if n.startswith(PREFIX.lower()) and n not in coupled]
    found.parked = len(parked)
    twice = {name for name, rows in (*local.items(), *integration.items()) if len(rows) > 1}
    for (name, local_field), writes in ledger.writes.items():
        if name.lower() in twice:
            continue  # a record created twice: users edited some copies and not others; counted as duplicated
        for pair in coupled.get(name.lower(), []):
            held = (pair[0][sides.local.column(local_field)], pair[1][sides.integration.column(local_field)])
            if (conflict := parked.get(str(pair[0][sides.local.key]))) is not None:
                ok = all(held[i] in _acceptable(writes, side) for i, side in enumerate(Side))
                found.held += held[0] != held[1]
                if (shown := conflict.get(local_field)) is not None:
                    found.stale += (_value(shown, "local_value"), _value(shown, "integration_value")) != held
            else:
                ok = held[0] == held[1] == writes[-1].value
            if not ok:
                found.lost.append((name, local_field, f"{writes[-1].value} ({writes[-1].side}, #{writes[-1].seq})",
                                   f"local {held[0]}, integration {held[1]}"))  # fmt: skip
    return found


def _value(conflict_field: Any, name: str) -> Any:
    """A value of a conflicting field, from `coupler conflicts --json` (a dict) or the store (an object)."""
    return conflict_field[name] if isinstance(conflict_field, dict) else getattr(conflict_field, name)


def _acceptable(writes: Sequence[Write], side: Side) -> set[str]:
    """The values a side of a parked pair may hold: its own last write, or a later one of the other side (which may
    have flowed before the pair was parked)."""
    own = [w for w in writes if w.side is side]
    since = own[-1].seq if own else 0
    return {w.value for w in writes if w.side is not side and w.seq > since} | ({own[-1].value} if own else set())


def wait_until(condition: Any, *, timeout: float, every: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True
