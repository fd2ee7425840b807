"""Start-up: the command line (everything `coupler --help` needs) and `import coupler` load neither the database
nor the HTTP nor the web stack nor pydantic; a command imports those when it runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src"
HEAVY = {"sqlalchemy", "alembic", "httpx", "fastapi", "starlette", "uvicorn", "jinja2", "msal", "pydantic"}


def loaded_after(statement: str) -> set[str]:
    """The top-level packages imported, in a fresh interpreter running this tree, after ``statement``."""
    probe = f"{statement}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "statement",
    [
        "import coupler.entrypoints.cli.app",
        "import coupler",
        "import coupler; coupler.CouplerError; coupler.Side",
    ],
)
def test_loading_does_not_import_the_heavy_libraries(statement: str) -> None:
    assert loaded_after(statement) & HEAVY == set()


def test_help_runs_without_the_heavy_libraries() -> None:
    statement = (
        "import contextlib, io\nfrom coupler.entrypoints.cli.app import main\n"
        "with contextlib.redirect_stdout(io.StringIO()): main(['--help'])"
    )
    assert loaded_after(statement) & HEAVY == set()


def test_a_public_name_loads_on_first_use() -> None:
    assert {"sqlalchemy"} <= loaded_after("import coupler; coupler.open_coupler")


def _output(typer_app: object, args: list[str]) -> tuple[int | str | None, str]:
    import contextlib
    import io

    from typer.main import get_group

    written = io.StringIO()
    with contextlib.redirect_stdout(written), contextlib.redirect_stderr(written), pytest.raises(SystemExit) as done:
        get_group(typer_app)(args=args, prog_name="coupler", standalone_mode=True)  # type: ignore[arg-type]
    return done.value.code, written.getvalue()


@pytest.mark.parametrize(
    "args",
    [["jobs", "--help"], ["jobs", "--last", "0"], ["status"], ["mapping", "--help"], ["mapping", "set", "--help"]],
)
def test_a_command_run_alone_reads_as_in_the_whole_app(args: list[str]) -> None:
    from coupler.entrypoints.cli.app import app, only

    narrowed = only(app, args[0])
    assert len(narrowed.registered_commands) + len(narrowed.registered_groups) == 1
    assert len(app.registered_commands) > 10  # the app itself is left whole
    assert _output(narrowed, args) == _output(app, args)


def test_an_unknown_command_is_told_by_the_whole_app() -> None:
    from coupler.entrypoints.cli.app import app, only

    assert only(app, "jbos") is app
    code, text = _output(app, ["jbos"])
    assert code == 2 and "jbos" in text


def test_a_read_command_loads_only_what_it_needs(tmp_path: Path) -> None:
    """`coupler jobs` on SQLite (a state store already migrated): neither SQLAlchemy's PostgreSQL dialect (the state
    store's schema declares no PostgreSQL-only option) nor the configuration editor (tomlkit), the progress bar or
    the JSON models."""
    from coupler.demo import create_demo
    from coupler.entrypoints.cli.app import main

    demo = create_demo(tmp_path / "demo")
    assert main(["jobs", "--json", "--config", str(demo.config)]) == 0  # creates and migrates the state store
    probe = (
        "import contextlib, io, json, sys\nfrom coupler.entrypoints.cli.app import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()): code = main(['jobs', '--config', {str(demo.config)!r}])\n"
        "print(json.dumps([code, sorted(sys.modules)]))"
    )
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    code, modules = json.loads(done.stdout.splitlines()[-1])
    assert code == 0
    unwanted = ("sqlalchemy.dialects.postgresql", "tomlkit", "rich.progress", "coupler.entrypoints.schemas.jobs")
    assert [name for name in unwanted if name in modules] == []
