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
