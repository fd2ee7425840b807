"""The connected systems of coupler.toml: SQL database URLs and HTTP services, their credentials read from the
environment (``${VAR}`` references), relative SQLite paths resolved against the file's folder."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path

from coupler.adapters.engines import driver_problem
from coupler.config.files import BusinessCentralSystemModel, DataverseSystemModel, SqlSystemModel

__all__ = ["SystemConfig", "build_system", "build_url"]

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, kw_only=True, slots=True)
class SystemConfig:
    """One connected system. ``kind`` "sql" uses ``url`` only; "dataverse" and "business-central" use the rest
    (secrets already read from the environment, kept out of ``repr``)."""

    name: str
    kind: str
    url: str
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = dataclass_field(default=None, repr=False)
    authority: str | None = None
    company: str | None = None
    username: str | None = None
    password: str | None = dataclass_field(default=None, repr=False)
    verify: bool | str = True
    page_size: int | None = None
    batch_size: int | None = None


def build_system(
    path: Path,
    key: str,
    model: SqlSystemModel | DataverseSystemModel | BusinessCentralSystemModel,
    base: Path,
    problems: list[str],
) -> SystemConfig:
    if isinstance(model, SqlSystemModel):
        url = build_url(path, f"{key}.url", model.url, base, problems, must_exist=True)
        return SystemConfig(name=model.name, kind=model.kind, url=url)
    return _http_system(path, key, model, base, problems)


def _http_system(
    path: Path, key: str, model: DataverseSystemModel | BusinessCentralSystemModel, base: Path, problems: list[str]
) -> SystemConfig:
    """Check an HTTP service's settings: an http(s) URL, complete credentials, secrets as ``${VAR}`` references."""
    where = f"{path}: key {key}"
    url = model.url.strip()
    if not re.match(r"^https?://[^/\s]+", url):
        problems.append(f"{where}.url: not an http(s) URL: {url!r}")
    secrets: dict[str, str | None] = {}
    for name in ("client_secret", "password"):
        raw = getattr(model, name, None)
        if raw is None:
            secrets[name] = None
            continue
        if not _ENV_REFERENCE.search(raw):
            problems.append(
                f"{where}.{name}: write the secret as an environment variable reference, like ${{MY_SECRET}}"
            )
            secrets[name] = None
            continue
        missing = [v for v in _ENV_REFERENCE.findall(raw) if v not in os.environ]
        if missing:
            problems.append(f"{where}.{name}: environment variable {', '.join(missing)} is not set")
        secrets[name] = _ENV_REFERENCE.sub(lambda m: os.environ.get(m.group(1), ""), raw)
    oauth = (model.tenant_id, model.client_id, model.client_secret)
    basic = (getattr(model, "username", None), getattr(model, "password", None))
    if isinstance(model, BusinessCentralSystemModel) and any(basic) and not any(oauth):
        if not all(basic):
            problems.append(f"{where}: basic authentication needs both username and password")
    elif not all(oauth):
        absent = [n for n, v in zip(("tenant_id", "client_id", "client_secret"), oauth, strict=True) if not v]
        problems.append(f"{where}: {', '.join(absent)} missing: sign-in needs tenant_id, client_id and client_secret")
    verify: bool | str = model.verify
    if isinstance(verify, str):
        ca = Path(verify) if Path(verify).is_absolute() else base / verify
        if not ca.is_file():
            problems.append(f"{where}.verify: no CA certificate file at {ca}")
        verify = str(ca)
    return SystemConfig(
        name=model.name,
        kind=model.kind,
        url=url.rstrip("/"),
        tenant_id=model.tenant_id,
        client_id=model.client_id,
        client_secret=secrets["client_secret"],
        authority=model.authority,
        company=getattr(model, "company", None),
        username=getattr(model, "username", None),
        password=secrets["password"],
        verify=verify,
        page_size=model.page_size,
        batch_size=model.batch_size,
    )


def build_url(path: Path, key: str, raw: str, base: Path, problems: list[str], *, must_exist: bool = False) -> str:
    """Expand ``${VAR}`` references; refuse a password written into the file; resolve relative SQLite paths."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    missing = [name for name in _ENV_REFERENCE.findall(raw) if name not in os.environ]
    if missing:
        problems.append(f"{path}: key {key}: environment variable {', '.join(missing)} is not set")
        return raw
    placeholders = _ENV_REFERENCE.sub(lambda m: f"envref{m.start()}x", raw)
    try:
        written = make_url(placeholders)
    except ArgumentError:
        written = None  # e.g. the whole URL is one ${VAR}: then it comes from the environment, password and all
    if written is not None and written.password and "envref" not in str(written.password):
        problems.append(
            f"{path}: key {key}: the URL holds a password; write it as an environment variable reference, "
            "like postgresql+psycopg://user:${PGPASSWORD}@host/db"
        )
        return raw
    try:
        url = make_url(_ENV_REFERENCE.sub(lambda m: os.environ[m.group(1)], raw))
    except ArgumentError:
        problems.append(f"{path}: key {key}: not a database URL (like sqlite:///file.db or postgresql://host/db)")
        return raw
    if (problem := driver_problem(url)) is not None:
        problems.append(f"{path}: key {key}: {problem}")
        return raw
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        if not database.is_absolute():
            database = base / database
            url = url.set(database=str(database))
        if must_exist and not database.is_file():
            problems.append(f"{path}: key {key}: no SQLite database at {database}")
    return url.render_as_string(hide_password=False)
