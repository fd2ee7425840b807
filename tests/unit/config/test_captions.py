"""Captions: a field mapping's and a table's name as a user reads it, checked at load time and filled in by the
templates with Business Central's captions."""

from __future__ import annotations

from pathlib import Path

import pytest

from coupler.config import load_config
from coupler.demo.config_template import demo_config
from coupler.templates.bc_sales import BC_SALES, bc_caption

from .test_config import VALID, problems, write


def test_captions_load_into_the_domain(tmp_path: Path) -> None:
    text = VALID.replace(
        'local = { table = "customers", key = "id",', 'local = { table = "customers", caption = "Customer", key = "id",'
    ).replace('{ local = "creditLimit",', '{ caption = "Credit Limit (LCY)", local = "creditLimit",')
    customer = load_config(write(tmp_path, text)).mapping("CUSTOMER")
    assert customer.local.caption == "Customer" and customer.local.title == "Customer"
    assert customer.integration.title == "account"  # no caption: the table's name
    assert customer.fields[1].caption == "Credit Limit (LCY)" and customer.fields[1].title == "Credit Limit (LCY)"
    assert customer.fields[0].title == "displayName"


@pytest.mark.parametrize(
    ("caption", "problem"),
    [
        ('""', "this one is blank"),
        ('" City"', "no spaces around it"),
        ('"a\\nb"', "one line of printable characters"),
        (f'"{"x" * 81}"', "at most 80 characters"),
    ],
)
def test_a_bad_caption_is_refused_naming_the_key(tmp_path: Path, caption: str, problem: str) -> None:
    text = VALID.replace('{ local = "displayName",', f'{{ caption = {caption}, local = "displayName",')
    found = problems(tmp_path, text)
    assert any("fields" in p and "caption" in p and problem in p for p in found), found


@pytest.mark.parametrize(
    ("bc", "caption"),
    [
        ("Post Code <-> address1_postalcode", "Post Code"),
        ("Credit Limit (LCY) -> creditlimit", "Credit Limit (LCY)"),
        ("(in code) Blocked -> statecode", "Blocked"),
        ("(Name) <- fullname", "Name"),
        ("Type <- (constant Person)", "Type"),
        ("(in code) company -> bcbi_companyid", "Company"),
        ("(in code) -> producttypecode", ""),
        ("(config template) -> customertypecode", ""),
    ],
)
def test_business_centrals_caption_is_read_from_the_field_mappings_name(bc: str, caption: str) -> None:
    assert bc_caption(bc) == caption


def test_the_templates_caption_every_field_and_table() -> None:
    customer = next(m for m in BC_SALES if m.name == "CUSTOMER").mapping
    captions = [f.caption for f in customer.fields]
    assert {"Salesperson Code", "Name", "Address", "Post Code", "Credit Limit (LCY)", "No."} <= set(captions)
    assert (customer.local.caption, customer.integration.caption) == ("Customer", "Account")
    for model in (*(m.mapping for m in BC_SALES), *demo_config().mappings):
        assert all(f.caption for f in model.fields), model.name
        assert model.local.caption and model.integration.caption, model.name
    assert (demo_config().local.name, demo_config().integration.name) == ("Business Central", "Dynamics 365 Sales")
