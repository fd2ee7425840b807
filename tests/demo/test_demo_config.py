"""The demo's coupler.toml: valid TOML in the documented format, naming only tables and columns that exist."""

from __future__ import annotations

import re
import sqlite3
import tomllib
from pathlib import Path
from typing import Any

import pytest

from coupler.config import load_config
from coupler.demo import DemoResult
from coupler.domain.mapping import Condition, Direction, Operator, Side

from .support import GUID, ISO_MS, columns, connect

CUSTOMER_LOCAL = (
    'local = { table = "customers", key = "id", display_key = "number", modified_on = "lastModifiedDateTime", '
    'filter = [{ field = "blocked", op = "eq", value = "" }] }'
)
CUSTOMER_INTEGRATION = (
    'integration = { table = "account", key = "accountid", display_key = "name", modified_on = "modifiedon", '
    'filter = [{ field = "statecode", op = "eq", value = 0 }, { field = "customertypecode", op = "eq", value = 3 }] }'
)


@pytest.fixture(scope="module")
def config(shared_demo: DemoResult) -> dict[str, Any]:
    return tomllib.loads(shared_demo.config.read_text(encoding="utf-8"))


def _mappings(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in config["mappings"]}


def _path(demo: DemoResult, side: str) -> Path:
    return demo.erp if side == "local" else demo.crm


def test_the_file_reads_like_the_documented_format(shared_demo: DemoResult) -> None:
    text = shared_demo.config.read_text(encoding="utf-8")
    assert text.startswith("# ") and "docs/configuration.md" in text
    assert 'state = "sqlite:///coupler-state.db"\n' in text
    assert '[local]\nname = "CRONUS (demo Business Central)"\nkind = "sql"\nurl = "sqlite:///erp.db"\n' in text
    assert '[integration]\nname = "Sales (demo Dynamics 365)"\nkind = "sql"\nurl = "sqlite:///crm.db"\n' in text
    assert CUSTOMER_LOCAL + "\n" in text and CUSTOMER_INTEGRATION + "\n" in text
    assert re.search(
        r'^direction = "bidirectional" +# bidirectional \| to-integration \| from-integration$', text, re.M
    )
    assert '  { integration = "customertypecode", constant = 3, direction = "to-integration" },\n' in text


def test_systems_and_state_resolve_next_to_the_config(shared_demo: DemoResult, config: dict[str, Any]) -> None:
    folder = shared_demo.config.parent
    assert config["local"]["kind"] == config["integration"]["kind"] == "sql"
    for url, expected in ((config["local"]["url"], shared_demo.erp), (config["integration"]["url"], shared_demo.crm)):
        assert url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_absolute()
        assert (folder / url.removeprefix("sqlite:///")).resolve() == expected.resolve()
    assert config["state"] == "sqlite:///coupler-state.db"


def test_the_mappings_are_business_centrals_defaults(config: dict[str, Any]) -> None:
    mappings = _mappings(config)
    assert list(mappings) == ["SALESPEOPLE", "CURRENCY", "CUSTOMER", "CONTACT", "ITEM-PRODUCT"]
    directions = {name: m["direction"] for name, m in mappings.items()}
    assert directions == {
        "SALESPEOPLE": "from-integration",
        "CURRENCY": "to-integration",
        "CUSTOMER": "bidirectional",
        "CONTACT": "bidirectional",
        "ITEM-PRODUCT": "bidirectional",
    }
    assert mappings["CUSTOMER"]["depends_on"] == ["SALESPEOPLE", "CURRENCY"]
    assert mappings["CONTACT"]["depends_on"] == ["CUSTOMER"]
    assert all(m["sync_only_coupled"] is True for m in mappings.values())
    seen: set[str] = set()
    for name, mapping in mappings.items():  # dependencies come first
        assert set(mapping["depends_on"]) <= seen, name
        seen.add(name)
    systemuser = mappings["SALESPEOPLE"]["integration"]["filter"]
    assert {(c["field"], c["value"]) for c in systemuser} == {
        ("isdisabled", 0),
        ("islicensed", 1),
        ("isintegrationuser", 0),
    }
    lookups = {"salespersonCode", "currencyCode", "ownerid", "transactioncurrencyid", "parentcustomerid"}
    for mapping in mappings.values():
        for field in mapping["fields"]:
            assert not {field.get("local"), field.get("integration")} & lookups


def test_values_are_known_words_and_every_field_exists(shared_demo: DemoResult, config: dict[str, Any]) -> None:
    for mapping in config["mappings"]:
        direction = Direction(mapping["direction"])
        for side in ("local", "integration"):
            spec = mapping[side]
            with connect(_path(shared_demo, side)) as db:
                present = set(columns(db, spec["table"]))
            needed = {spec["key"], spec["display_key"], spec["modified_on"]}
            for condition in spec.get("filter", []):
                Operator(condition["op"])
                needed.add(condition["field"])
            needed |= {f[side] for f in mapping["fields"] if side in f}
            assert needed <= present, (mapping["name"], side, needed - present)
        for field in mapping["fields"]:
            if "direction" in field:
                assert direction.allows(Direction(field["direction"])), (mapping["name"], field)
            assert set(field) <= {"local", "integration", "direction", "enabled", "constant"}


def test_every_constant_is_valid_for_its_column(shared_demo: DemoResult, config: dict[str, Any]) -> None:
    constants = [(m, f) for m in config["mappings"] for f in m["fields"] if "constant" in f]
    assert constants
    for mapping, field in constants:
        target = Direction(field.get("direction", mapping["direction"])).target.value
        table = mapping[target]["table"]
        with connect(_path(shared_demo, target)) as db:
            changed = db.execute(f'UPDATE "{table}" SET "{field[target]}" = ?', (field["constant"],)).rowcount
            assert changed > 0
            db.rollback()


def _flowing(mapping: dict[str, Any], one_way: Direction) -> list[dict[str, Any]]:
    fields = []
    for field in mapping["fields"]:
        direction = Direction(field.get("direction", mapping["direction"]))
        if field.get("enabled", True) and direction.allows(one_way) and one_way.target.value in field:
            fields.append(field)
    return fields


def _insert(db: sqlite3.Connection, table: str, values: dict[str, Any]) -> int | None:
    names = ", ".join(f'"{n}"' for n in values)
    marks = ", ".join("?" for _ in values)
    return db.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', tuple(values.values())).lastrowid


def _create_all(demo: DemoResult, mapping: dict[str, Any], one_way: Direction) -> list[str]:
    """Insert every source record that passes the source filter into an emptied target table, with only the
    mapped columns, as coupler creates records; returns the display keys of the records the target rejected."""
    source, target = one_way.source.value, one_way.target.value
    source_spec, target_spec = mapping[source], mapping[target]
    conditions = [
        Condition(field=c["field"], op=Operator(c["op"]), value=c["value"]) for c in source_spec.get("filter", [])
    ]
    fields = _flowing(mapping, one_way)
    assert fields, (mapping["name"], one_way)
    with connect(_path(demo, source)) as db:
        records = [dict(r) for r in db.execute(f'SELECT * FROM "{source_spec["table"]}"')]
    records = [r for r in records if all(c.matches(r) for c in conditions)]
    assert records, (mapping["name"], one_way)
    rejected = []
    with connect(_path(demo, target)) as db:
        db.execute(f'DELETE FROM "{target_spec["table"]}"')
        for record in records:
            values = {f[target]: f["constant"] if "constant" in f else record[f[source]] for f in fields}
            try:
                rowid = _insert(db, target_spec["table"], values)
            except sqlite3.IntegrityError:
                rejected.append(str(record[source_spec["display_key"]]))
                continue
            row = db.execute(f'SELECT * FROM "{target_spec["table"]}" WHERE rowid = ?', (rowid,)).fetchone()
            assert re.match(GUID, row[target_spec["key"]])
            assert re.match(ISO_MS, row[target_spec["modified_on"]])
            assert row[target_spec["display_key"]], (mapping["name"], target_spec["display_key"])
        db.rollback()
    return rejected


@pytest.mark.parametrize(
    ("name", "one_way"),
    [
        ("SALESPEOPLE", Direction.FROM_INTEGRATION),
        ("CURRENCY", Direction.TO_INTEGRATION),
        ("CUSTOMER", Direction.TO_INTEGRATION),
        ("CUSTOMER", Direction.FROM_INTEGRATION),
        ("CONTACT", Direction.TO_INTEGRATION),
        ("CONTACT", Direction.FROM_INTEGRATION),
        ("ITEM-PRODUCT", Direction.TO_INTEGRATION),
        ("ITEM-PRODUCT", Direction.FROM_INTEGRATION),
    ],
)
def test_records_can_be_created_from_mapped_fields_only(
    shared_demo: DemoResult, config: dict[str, Any], name: str, one_way: Direction
) -> None:
    mapping = _mappings(config)[name]
    assert Direction(mapping["direction"]).allows(one_way)
    rejected = _create_all(shared_demo, mapping, one_way)
    if (name, one_way.source) == ("CUSTOMER", Side.INTEGRATION):
        assert len(rejected) == 1 and len(rejected[0]) > 100  # the one account name too long for the ERP
    else:
        assert rejected == []


def test_the_project_loads_the_demo_config(shared_demo: DemoResult) -> None:
    loaded = load_config(shared_demo.config)
    assert [m.name for m in loaded.mappings] == ["SALESPEOPLE", "CURRENCY", "CUSTOMER", "CONTACT", "ITEM-PRODUCT"]
    assert loaded.local.url.endswith("erp.db") and loaded.integration.url.endswith("crm.db")
    customer = loaded.mapping("CUSTOMER")
    constant = next(f for f in customer.fields if f.has_constant)
    assert (constant.integration, constant.constant, constant.direction) == (
        "customertypecode",
        3,
        Direction.TO_INTEGRATION,
    )
