"""`coupler init --template bc-sales`: the real CLI writes the template, refuses to overwrite it unless forced."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from coupler.templates.bc_sales import render_bc_sales

from .support import run_coupler

pytestmark = pytest.mark.e2e


def test_init_writes_the_bc_sales_template(tmp_path: Path) -> None:
    result = run_coupler("init", "--template", "bc-sales", cwd=tmp_path, expect=0)

    written = tmp_path / "coupler.toml"
    assert written.read_text(encoding="utf-8") == render_bc_sales()
    assert "Wrote coupler.toml (template bc-sales)." in result.stdout
    assert "coupler check" in result.stdout
    data = tomllib.loads(written.read_text(encoding="utf-8"))
    assert (data["local"]["kind"], data["integration"]["kind"]) == ("business-central", "dataverse")
    assert [m["name"] for m in data["mappings"]] == [
        "SALESPEOPLE",
        "CURRENCY",
        "PAYMENT TERMS",
        "SHIPMENT METHOD",
        "UNIT OF MEASURE",
        "CUSTOMER",
        "VENDOR",
        "CONTACT",
        "ITEM-PRODUCT",
    ]


def test_init_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    config = tmp_path / "coupler.toml"
    config.write_text("# mine\n", encoding="utf-8")

    refused = run_coupler("init", "--template", "bc-sales", cwd=tmp_path, expect=2)
    assert "coupler.toml already exists; use --force to replace it." in refused.stderr
    assert refused.stdout == ""
    assert config.read_text(encoding="utf-8") == "# mine\n", "a refused init leaves the file alone"

    as_json = run_coupler("init", "--json", cwd=tmp_path, expect=2).json()
    assert as_json["error"] == "TemplateExists"
    assert "--force" in as_json["problems"][0]

    run_coupler("init", "--template", "bc-sales", "--force", cwd=tmp_path, expect=0)
    assert config.read_text(encoding="utf-8") == render_bc_sales()
    assert [p.name for p in tmp_path.iterdir()] == ["coupler.toml"], "no scratch file is left behind"


def test_init_into_a_folder_or_a_named_file_with_json(tmp_path: Path) -> None:
    (tmp_path / "sales").mkdir()
    into_folder = run_coupler("init", "sales", "--json", cwd=tmp_path, expect=0).json()
    assert into_folder == {"config": str(Path("sales") / "coupler.toml"), "template": "bc-sales"}
    assert (tmp_path / "sales" / "coupler.toml").read_text(encoding="utf-8") == render_bc_sales()

    run_coupler("init", "new/place/bc.toml", cwd=tmp_path, expect=0)
    assert (tmp_path / "new" / "place" / "bc.toml").read_text(encoding="utf-8") == render_bc_sales()


def test_init_rejects_an_unknown_template(tmp_path: Path) -> None:
    result = run_coupler("init", "--template", "sap-salesforce", cwd=tmp_path, expect=2)
    assert "sap-salesforce" in result.stderr and "bc-sales" in result.stderr
    assert not (tmp_path / "coupler.toml").exists()


def test_init_for_one_of_several_companies(tmp_path: Path) -> None:
    company = "5b0e3c2a-0000-4000-8000-00000000bcb1"
    run_coupler("init", "--company", "CRONUS Canada", "--dataverse-company", company, cwd=tmp_path, expect=0)
    data = tomllib.loads((tmp_path / "coupler.toml").read_text(encoding="utf-8"))
    assert data["local"]["company"] == "CRONUS Canada"
    customer = next(m for m in data["mappings"] if m["name"] == "CUSTOMER")
    assert {"field": "bcbi_companyid", "op": "in", "value": [company], "or_null": True} in customer["integration"][
        "filter"
    ]
