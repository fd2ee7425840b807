"""Helpers for the end-to-end tests: run the installed `coupler` console script, read and write the demo databases."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CUSTOMER_FIELDS", "Demo", "Result", "coupler_command", "run_coupler"]

_TIMEOUT = 60
_SQLITE_STATE = 'state = "sqlite:///coupler-state.db"'
_AFTER: dict[tuple[str, str], Path] = {}
"""(steps, the demo folder's files before them) -> a folder holding its files after them (see ``Demo.replay``)."""
_SCRUBBED = ("COUPLER_CONFIG", "COUPLER_DEBUG", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR")


def coupler_command() -> str:
    """The installed console script, preferably beside the running interpreter (no shim in between)."""
    beside = Path(sys.executable).with_name("coupler")
    if beside.is_file():
        return str(beside)
    found = shutil.which("coupler")
    if found is None:  # a broken installation is a failure, not a reason to skip
        pytest.fail("the `coupler` console script is not installed (pip install -e '.[test]')")
    return found


@dataclass(frozen=True, kw_only=True, slots=True)
class Result:
    """What one `coupler` run gave back."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        """stdout parsed as JSON; it must be nothing but JSON."""
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as error:
            pytest.fail(f"coupler {' '.join(self.args)}: stdout is not JSON ({error}):\n{self.stdout}\n{self.stderr}")

    def __str__(self) -> str:
        return f"$ coupler {' '.join(self.args)}\nexit {self.code}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


def run_coupler(
    *args: str | Path, cwd: Path, env: Mapping[str, str] | None = None, expect: int | None = None
) -> Result:
    """Run the console script; ``expect`` checks the exit code (showing the whole run when it differs)."""
    environment = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    environment["COLUMNS"] = "250"  # long error lines stay on one line
    environment.update(env or {})
    command = [coupler_command(), *map(str, args)]
    completed = subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=_TIMEOUT, check=False
    )
    result = Result(
        args=tuple(map(str, args)), code=completed.returncode, stdout=completed.stdout, stderr=completed.stderr
    )
    assert "Traceback" not in result.output, str(result)
    if expect is not None:
        assert result.code == expect, str(result)
    return result


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path)) as connection:
        connection.row_factory = sqlite3.Row
        yield connection


@dataclass(frozen=True, kw_only=True, slots=True)
class Demo:
    """A private demo folder, and plain sqlite3 access to its databases."""

    directory: Path

    @property
    def config(self) -> Path:
        return self.directory / "coupler.toml"

    @property
    def erp(self) -> Path:
        return self.directory / "erp.db"

    @property
    def crm(self) -> Path:
        return self.directory / "crm.db"

    @property
    def state(self) -> Path:
        return self.directory / "coupler-state.db"

    def coupler(
        self, *args: str | Path, expect: int | None = 0, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> Result:
        """`coupler ARGS --config DIR/coupler.toml` run from outside the demo folder."""
        return run_coupler(*args, "--config", self.config, cwd=cwd or self.directory.parent, env=env, expect=expect)

    def configure(self, mapping: str, key: str, value: str) -> None:
        """Change one of a mapping's policies in coupler.toml (``update_conflict = "none"`` ...)."""
        text = self.config.read_text(encoding="utf-8")
        head, sep, rest = text.partition(f'name = "{mapping}"\n')
        assert sep, mapping
        old = next(line for line in rest.splitlines() if line.startswith(f"{key} = "))
        self.config.write_text(head + sep + rest.replace(old, f'{key} = "{value}"', 1), encoding="utf-8")

    def couple_references(self) -> None:
        """Couple what the CUSTOMER mapping looks up, so that customers can be synchronized: the salespeople
        (matched by e-mail, then updated from the CRM) and the currencies (EUR matched, the others created)."""

        def steps() -> None:
            self.coupler("match", "SALESPEOPLE", "--sync-after", "integration")
            self.coupler("match", "CURRENCY", expect=1)
            self.coupler("sync", "CURRENCY", "--full")

        self.replay("couple_references", steps)

    def replay(self, name: str, steps: Callable[[], object]) -> None:
        """Run ``steps``, commands that only change the files of the demo folder, or put back what they left there.

        The first time this worker process runs ``name`` on a folder holding exactly these files (same bytes), the
        steps run for real (with their checks) and the files they leave are kept; later, on the same files, they
        are copied back instead of running the same commands again (a set-up many tests share costs a few `coupler`
        runs each). A demo whose state store is not its SQLite file (PostgreSQL) always runs the steps."""
        if _SQLITE_STATE not in self.config.read_text(encoding="utf-8"):
            steps()
            return
        files = sorted(p for p in self.directory.iterdir() if p.is_file())
        digest = hashlib.sha256()
        for path in files:
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        key = (name, digest.hexdigest())
        kept = _AFTER.get(key)
        if kept is None:
            steps()
            kept = Path(tempfile.mkdtemp(prefix="coupler-e2e-replay-"))
            atexit.register(shutil.rmtree, kept, ignore_errors=True)
            for path in self.directory.iterdir():
                if path.is_file():
                    shutil.copy2(path, kept / path.name)
            _AFTER[key] = kept
            return
        for path in files:  # what the steps removed goes (none do so far), what they changed or added comes back
            if not (kept / path.name).exists():
                path.unlink()
        for path in kept.iterdir():
            shutil.copy2(path, self.directory / path.name)

    # reading and writing the databases as a user would with any SQLite tool -----------------------------------
    @staticmethod
    def query(db: Path, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with _connect(db) as connection:
            return [dict(row) for row in connection.execute(sql, params)]

    @staticmethod
    def execute(db: Path, sql: str, params: Sequence[Any] = (), *, checks: bool = True) -> int:
        """Run one statement and commit; ``checks=False`` writes what the table's CHECK constraints forbid."""
        with _connect(db) as connection:
            if not checks:
                connection.execute("PRAGMA ignore_check_constraints = ON")
            changed = connection.execute(sql, params).rowcount
            connection.commit()
            return changed

    def customer(self, number: str) -> dict[str, Any]:
        rows = self.query(self.erp, 'SELECT * FROM customers WHERE "number" = ?', (number,))
        assert len(rows) == 1, f"customer {number}: {rows}"
        return rows[0]

    def account(self, name: str) -> dict[str, Any]:
        rows = self.query(self.crm, "SELECT * FROM account WHERE name = ?", (name,))
        assert len(rows) == 1, f"account {name!r}: {rows}"
        return rows[0]

    def account_by_id(self, accountid: str) -> dict[str, Any]:
        rows = self.query(self.crm, "SELECT * FROM account WHERE accountid = ?", (accountid,))
        assert len(rows) == 1, f"account {accountid}: {rows}"
        return rows[0]

    def matched_customers(self) -> list[tuple[str, str]]:
        """(customer number, account name) of active customers with an active account of exactly the same name."""
        customers = self.query(self.erp, "SELECT \"number\", displayName FROM customers WHERE blocked = ''")
        accounts = {
            row["name"]
            for row in self.query(self.crm, "SELECT name FROM account WHERE statecode = 0 AND customertypecode = 3")
        }
        return sorted((c["number"], c["displayName"]) for c in customers if c["displayName"] in accounts)

    def lonely_customers(self) -> list[str]:
        """Numbers of active customers that no account resembles (no name match, whatever the letter case)."""
        names = {row["name"].lower() for row in self.query(self.crm, "SELECT name FROM account")}
        customers = self.query(self.erp, "SELECT \"number\", displayName FROM customers WHERE blocked = ''")
        return sorted(c["number"] for c in customers if c["displayName"].lower() not in names)

    def crm_only_accounts(self) -> list[str]:
        """Names of active Customer accounts that no customer resembles, short enough for the ERP."""
        names = {row["displayName"].lower() for row in self.query(self.erp, "SELECT displayName FROM customers")}
        accounts = self.query(
            self.crm, "SELECT name FROM account WHERE statecode = 0 AND customertypecode = 3 AND length(name) <= 100"
        )
        return sorted(a["name"] for a in accounts if a["name"].lower() not in names)


# Customer field -> account column, as the demo's CUSTOMER mapping copies them.
CUSTOMER_FIELDS = {
    "displayName": "name",
    "addressLine1": "address1_line1",
    "addressLine2": "address1_line2",
    "city": "address1_city",
    "state": "address1_stateorprovince",
    "postalCode": "address1_postalcode",
    "country": "address1_country",
    "phoneNumber": "telephone1",
    "email": "emailaddress1",
    "website": "websiteurl",
    "creditLimit": "creditlimit",
}
