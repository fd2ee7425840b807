"""The public Python API: the names ``coupler`` exports and the Coupler's methods, each importable and documented
(a docstring, and a mention in docs/python-api.md). Changing them is changing the API: do it here on purpose."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import coupler

DOCS = (Path(__file__).parents[2] / "docs" / "python-api.md").read_text()

EXPORTED = {
    "__version__",
    # opening one
    "open_coupler",
    "Coupler",
    # what its methods take
    "Direction",
    "Side",
    # what they return
    "CheckReport",
    "Conflict",
    "Job",
    "JobError",
    "JobReport",
    "LockLost",
    "LockStatus",
    "MappingOverview",
    "MappingRun",
    "PendingDeletion",
    "RecordStatus",
    "Round",
    "SkippedRecord",
    # what they raise
    "CouplerError",
    "ConfigurationError",
    "UnknownMapping",
    "UsageError",
    "MappingBusy",
    "RecordError",
    "RecordNotFound",
    "AlreadyCoupled",
    "ConnectorError",
    "RetryableConnectorError",
    "PermanentConnectorError",
}

COUPLER_METHODS = {
    "check",
    "mappings",
    "couple",
    "create",
    "create_many",
    "decouple",
    "decouple_all",
    "match",
    "sync",
    "sync_modified",
    "sync_changed",
    "sync_full",
    "run_once",
    "schedule",
    "status",
    "jobs",
    "errors",
    "delete_errors",
    "conflicts",
    "resolve",
    "skipped",
    "retry",
    "restore",
    "deletions",
    "approve",
    "locks",
    "unlock",
    "close",
}


def _documented(name: str, thing: object) -> bool:
    """A docstring of its own: a dataclass's generated signature ``Name(*, field...)`` is not one."""
    doc = thing.__doc__
    return bool(doc and doc.strip()) and not doc.startswith(f"{name}(")


def test_the_package_exports_exactly_the_public_api() -> None:
    assert sorted(coupler.__all__) == sorted(EXPORTED)
    assert len(coupler.__all__) == len(set(coupler.__all__))


def test_a_star_import_brings_every_exported_name_and_nothing_else() -> None:
    namespace: dict[str, object] = {}
    exec("from coupler import *", namespace)
    assert set(namespace) - {"__builtins__"} == EXPORTED


@pytest.mark.parametrize("name", sorted(EXPORTED - {"__version__"}))
def test_each_exported_name_is_documented(name: str) -> None:
    thing = getattr(coupler, name)
    assert getattr(thing, "__name__", None) == name, f"coupler.{name} is exported under another name"
    assert _documented(name, thing), f"coupler.{name} has no docstring"
    assert f"`{name}" in DOCS, f"docs/python-api.md does not mention {name}"


def test_the_coupler_offers_exactly_the_scripts_operations() -> None:
    public = {name for name, _ in inspect.getmembers(coupler.Coupler, inspect.isfunction) if not name.startswith("_")}
    assert public == COUPLER_METHODS


@pytest.mark.parametrize("name", sorted(COUPLER_METHODS))
def test_each_coupler_method_is_documented(name: str) -> None:
    method = getattr(coupler.Coupler, name)
    assert _documented(name, method), f"Coupler.{name} has no docstring"
    assert f"`{name}(" in DOCS, f"docs/python-api.md does not show Coupler.{name}"
