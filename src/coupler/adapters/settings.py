"""Where an adapter's settings are written in coupler.toml, and resolving what they refer to.

Each problem names the file and the key (``coupler.toml: key local.url: ...``). Secrets are written as ``${VAR}``
references and read from the environment; relative SQLite paths and CA files are resolved against the file's folder.
Problems are collected rather than raised, so that one look at the file reports them all.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from coupler.adapters.engines import driver_problem

__all__ = ["ENV_REFERENCE", "Place"]

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Place:
    """Settings written at ``key`` (``local``, ``integration``, ``state``) of the file at ``path``, which is in
    ``folder``; ``problems`` collects what is wrong with them."""

    path: Path
    key: str
    folder: Path
    problems: list[str]

    def problem(self, message: str, *, key: str | None = None) -> None:
        """Record a problem with this key, or with ``key`` inside it (``url`` inside ``local``)."""
        where = f"{self.key}.{key}" if key else self.key
        self.problems.append(f"{self.path}: key {where}: {message}")

    def secret(self, written: SecretStr | None, *, key: str) -> SecretStr | None:
        """The secret that the ``${VAR}`` references in ``written`` name, read from the environment. A secret written
        into the file as it is is refused (and never repeated in the message)."""
        if written is None:
            return None
        raw = written.get_secret_value()
        if not ENV_REFERENCE.search(raw):
            self.problem("write the secret as an environment variable reference, like ${MY_SECRET}", key=key)
            return None
        missing = [name for name in ENV_REFERENCE.findall(raw) if name not in os.environ]
        if missing:
            self.problem(f"environment variable {', '.join(missing)} is not set", key=key)
        return SecretStr(ENV_REFERENCE.sub(lambda m: os.environ.get(m.group(1), ""), raw))

    def file(self, written: str, *, key: str) -> str:
        """A file that must exist (a CA certificate), its relative path resolved against the folder."""
        found = Path(written) if Path(written).is_absolute() else self.folder / written
        if not found.is_file():
            self.problem(f"no CA certificate file at {found}", key=key)
        return str(found)

    def database_url(self, written: str, *, key: str | None = None, must_exist: bool = False) -> str:
        """Expand ``${VAR}`` references; refuse a password written into the file; resolve a relative SQLite path
        (``must_exist``: the SQLite file must be there already)."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        missing = [name for name in ENV_REFERENCE.findall(written) if name not in os.environ]
        if missing:
            self.problem(f"environment variable {', '.join(missing)} is not set", key=key)
            return written
        placeholders = ENV_REFERENCE.sub(lambda m: f"envref{m.start()}x", written)
        try:
            parsed = make_url(placeholders)
        except ArgumentError:
            parsed = None  # e.g. the whole URL is one ${VAR}: then it comes from the environment, password and all
        if parsed is not None and parsed.password and "envref" not in str(parsed.password):
            self.problem(
                "the URL holds a password; write it as an environment variable reference, "
                "like postgresql+psycopg://user:${PGPASSWORD}@host/db",
                key=key,
            )
            return written
        try:
            url = make_url(ENV_REFERENCE.sub(lambda m: os.environ[m.group(1)], written))
        except ArgumentError:
            self.problem("not a database URL (like sqlite:///file.db or postgresql://host/db)", key=key)
            return written
        if (problem := driver_problem(url)) is not None:
            self.problem(problem, key=key)
            return written
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            database = Path(url.database)
            if not database.is_absolute():
                database = self.folder / database
                url = url.set(database=str(database))
            if must_exist and not database.is_file():
                self.problem(f"no SQLite database at {database}", key=key)
        return url.render_as_string(hide_password=False)
