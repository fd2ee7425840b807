"""The demo's coupler.toml: valid TOML in the documented format, naming only tables and columns that exist."""

from __future__ import annotations

import re
import sqlite3
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from coupler.config import AppConfig, load_config
from coupler.demo import DemoResult
from coupler.domain.mapping import Direction, Operator, Side, TableMapping
from coupler.domain.transfer import Transfer

from .support import GUID, ISO_MS, columns, connect

CUSTOMER_LOCAL = (
    'local = { table = "customers", caption = "Customer", key = "id", display_key = "number", '
    'name_field = "displayName", modified_on = "lastModifiedDateTime", filter = [{ field = "blocked", op = "eq", '
    'value = "" }] }'
)
CUSTOMER_INTEGRATION = (
    'integration = { table = "account", caption = "Account", key = "accountid", display_key = "name", '
    'modified_on = "modifiedon", filter = [{ field = "statecode", op = "eq", value = 0 }, '
    '{ field = "customertypecode", op = "eq", value = 3 }] }'
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
    assert '[local]\nname = "Business Central"\nkind = "sql"\nurl = "sqlite:///erp.db"\n' in text
    assert '[integration]\nname = "Dynamics 365 Sales"\nkind = "sql"\nurl = "sqlite:///crm.db"\n' in text
    assert CUSTOMER_LOCAL + "\n" in text and CUSTOMER_INTEGRATION + "\n" in text
    assert re.search(
        r'^direction = "bidirectional" +# bidirectional \| to-integration \| from-integration$', text, re.M
    )
    constant = '{ caption = "Relationship Type", integration = "customertypecode", constant = 3, '
    constant += 'direction = "to-integration" }'
    assert f"  {constant},\n" in text


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
    lookups = [
        (
            m["name"],
            f["local"],
            f["integration"],
            {k: v for k, v in f.items() if k not in ("local", "integration", "caption")},
        )
        for m in mappings.values()
        for f in m["fields"]
        if "lookup" in f
    ]
    to_crm, from_crm = {"direction": "to-integration"}, {"direction": "from-integration"}
    assert lookups == [
        ("CUSTOMER", "salespersonCode", "ownerid", {**to_crm, "lookup": "SALESPEOPLE", "lookup_local_by": "code",
                                                    "not_null": True}),
        # waits for its currency to be coupled; a currency that is not (the base currency) gives a blank code
        ("CUSTOMER", "currencyCode", "transactioncurrencyid", {**to_crm, "lookup": "CURRENCY"}),
        ("CUSTOMER", "currencyCode", "transactioncurrencyid", {**from_crm, "lookup": "CURRENCY",
                                                               "clear_on_failed_lookup": True}),
        ("CONTACT", "companyNumber", "parentcustomerid", {"lookup": "CUSTOMER"}),
    ]  # fmt: skip
    for name, _, _, settings in lookups:
        assert settings["lookup"] in mappings[name]["depends_on"]


def test_match_based_coupling_has_fields_to_match_on(config: dict[str, Any]) -> None:
    matched = {
        m["name"]: [(f["local"], f["integration"], f["match"]) for f in m["fields"] if "match" in f]
        for m in config["mappings"]
    }
    assert matched == {
        "SALESPEOPLE": [("email", "internalemailaddress", 1)],
        "CURRENCY": [("code", "isocurrencycode", 1)],
        "CUSTOMER": [("displayName", "name", 1)],
        "CONTACT": [("email", "emailaddress1", 1)],
        "ITEM-PRODUCT": [("number", "productnumber", 1)],
    }


def test_payment_terms_are_an_option_mapping_with_trimmed_upper_case_codes(config: dict[str, Any]) -> None:
    customer = _mappings(config)["CUSTOMER"]
    [terms] = [f for f in customer["fields"] if f.get("local") == "paymentTermsCode"]
    assert terms["integration"] == "paymenttermscode" and "direction" not in terms  # both ways
    assert terms["options"] == {"30 DAYS": 1, "14 DAYS": 2, "CM": 3, "60 DAYS": 4, "7 DAYS": 5, "COD": 6}
    assert terms["transform"] == [{"kind": "trim"}, {"kind": "upper"}]
    [name] = [f for f in customer["fields"] if f.get("local") == "displayName"]
    assert name["transform"] == [{"kind": "trim"}]


def test_every_mapping_states_its_conflict_and_deletion_policies(shared_demo: DemoResult) -> None:
    text = shared_demo.config.read_text(encoding="utf-8")
    assert text.count('\nupdate_conflict = "none"  ') == 5
    assert text.count('\ndeletion_conflict = "none"  ') == 5
    assert text.count('\ndelete = "ignore"  ') == 5
    assert "# none (park it for `coupler resolve`) | local-wins | integration-wins" in text


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
            assert set(field) <= FIELD_KEYS, (mapping["name"], set(field) - FIELD_KEYS)
            if "lookup_local_by" in field:
                referenced = _mappings(config)[field["lookup"]]["local"]
                with connect(shared_demo.erp) as db:
                    assert field["lookup_local_by"] in columns(db, referenced["table"])


FIELD_KEYS = {
    "caption",
    "local",
    "integration",
    "direction",
    "enabled",
    "constant",
    "match",
    "lookup",
    "lookup_local_by",
    "not_null",
    "clear_on_failed_lookup",
    "transform",
    "options",
}


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


class _Any(Mapping[Any, Any]):
    """A lookup's translations for a test: every value refers to ``value`` (a record of the referenced table)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __getitem__(self, key: Any) -> Any:
        return self.value

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _lookups(demo: DemoResult, loaded: AppConfig, mapping: TableMapping, one_way: Direction) -> dict[str, _Any]:
    """For each lookup field: a value of the column the target field refers to, read from the referenced table (the
    demo databases have no foreign keys, so any such value shows whether the target column takes it)."""
    resolved = {}
    for field in mapping.fields_for(one_way):
        if field.lookup is None:
            continue
        spec = loaded.mapping(field.lookup.mapping).spec(one_way.target)
        column = field.lookup.by(one_way.target) or (spec.display_key if one_way.target is Side.LOCAL else spec.key)
        with connect(_path(demo, one_way.target.value)) as db:
            resolved[field.pair] = _Any(db.execute(f'SELECT "{column}" FROM "{spec.table}" LIMIT 1').fetchone()[0])
    return resolved


def _insert(db: sqlite3.Connection, table: str, values: dict[str, Any]) -> int | None:
    names = ", ".join(f'"{n}"' for n in values)
    marks = ", ".join("?" for _ in values)
    return db.execute(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', tuple(values.values())).lastrowid


def _create_all(demo: DemoResult, name: str, one_way: Direction) -> list[str]:
    """Insert every source record that passes the source filter into an emptied target table, with the values
    coupler builds from the mapped fields (constants, transformations and option mappings applied, lookups resolved
    to a record of the referenced table); returns the display keys of the records the target rejected."""
    loaded = load_config(demo.config)
    mapping = loaded.mapping(name)
    source_spec, target_spec = mapping.spec(one_way.source), mapping.spec(one_way.target)
    moves = Transfer.of(mapping, one_way)
    assert moves.moves, (name, one_way)
    resolved = _lookups(demo, loaded, mapping, one_way)
    with connect(_path(demo, one_way.source.value)) as db:
        records = [dict(r) for r in db.execute(f'SELECT * FROM "{source_spec.table}"')]
    records = [r for r in records if source_spec.matches(r)]
    assert records, (name, one_way)
    rejected = []
    with connect(_path(demo, one_way.target.value)) as db:
        db.execute(f'DELETE FROM "{target_spec.table}"')
        for record in records:
            try:
                rowid = _insert(db, target_spec.table, moves(record, resolved))
            except sqlite3.IntegrityError:
                rejected.append(str(record[source_spec.display_key or source_spec.key]))
                continue
            row = db.execute(f'SELECT * FROM "{target_spec.table}" WHERE rowid = ?', (rowid,)).fetchone()
            assert re.match(GUID, row[target_spec.key])
            assert re.match(ISO_MS, row[target_spec.modified_on or ""])
            assert row[target_spec.display_key or target_spec.key], (name, target_spec.display_key)
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
    rejected = _create_all(shared_demo, name, one_way)
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
    owner = next(f for f in customer.fields if f.integration == "ownerid")
    assert owner.lookup is not None and (owner.lookup.mapping, owner.lookup.local_by) == ("SALESPEOPLE", "code")
    assert owner.not_null and not owner.clear_on_failed_lookup
    currency = {f.direction: f for f in customer.fields if f.integration == "transactioncurrencyid"}
    assert set(currency) == {Direction.TO_INTEGRATION, Direction.FROM_INTEGRATION}
    assert currency[Direction.FROM_INTEGRATION].clear_on_failed_lookup
    assert not currency[Direction.TO_INTEGRATION].clear_on_failed_lookup
    terms = next(f for f in customer.fields if f.integration == "paymenttermscode")
    assert [t.kind for t in terms.transforms] == ["trim", "upper", "options"]
    moves = Transfer.of(customer, Direction.TO_INTEGRATION)
    built = moves({"paymentTermsCode": " 30 days", "displayName": " Adatum "}, {})
    assert (built["paymenttermscode"], built["name"]) == (1, "Adatum")
    assert Transfer.of(customer, Direction.FROM_INTEGRATION)({"paymenttermscode": 3}, {})["paymentTermsCode"] == "CM"
