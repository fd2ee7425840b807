"""The TOML writer: a configuration model written as coupler.toml reads back as the same model, with the keys a
template set, in the models' order, and the template's comments where it put them."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import SecretStr

from coupler.adapters.connectors.kinds.business_central import BusinessCentralSettings
from coupler.adapters.connectors.kinds.sql import SqlSettings
from coupler.config import parse_config
from coupler.config.files import ConditionModel, FieldModel, FileModel, MappingModel, SideModel, TransformModel
from coupler.config.writer import Comments, commented_mapping, render_config
from coupler.domain.mapping import ConflictPolicy, Direction, Operator

ERP = SqlSettings(name="ERP", url="sqlite:///erp.db")
CRM = SqlSettings(name="CRM", url="sqlite:///crm.db")


def customer(**changes: object) -> MappingModel:
    mapping = MappingModel(
        name="CUSTOMER",
        direction=Direction.BIDIRECTIONAL,
        update_conflict=ConflictPolicy.LOCAL_WINS,
        local=SideModel(
            table="customers",
            key="id",
            modified_on="mod",
            filter=[ConditionModel(field="blocked", op=Operator.EQ, value="")],
        ),
        integration=SideModel(table="account", key="accountid", modified_on="modifiedon"),
        fields=[
            FieldModel(local="name", integration="name", match=1, transform=[TransformModel(kind="trim")]),
            FieldModel(integration="customertypecode", constant=3, direction=Direction.TO_INTEGRATION),
            FieldModel(local="terms", integration="paymenttermscode", options={"30 DAYS": 1, "CM": 3}),
        ],
    )
    return mapping.model_copy(update=changes)


def config(*mappings: MappingModel, local: SqlSettings | BusinessCentralSettings = ERP) -> FileModel:
    return FileModel(state="sqlite:///state.db", local=local, integration=CRM, mappings=list(mappings or [customer()]))


def test_the_written_file_reads_back_as_the_same_model() -> None:
    written = config(customer())
    assert FileModel.model_validate(tomllib.loads(render_config(written))) == written


def test_the_written_file_loads_as_coupler_toml(tmp_path: Path) -> None:
    for database in ("erp.db", "crm.db"):
        (tmp_path / database).touch()
    loaded = parse_config(tomllib.loads(render_config(config())), path=tmp_path / "coupler.toml")
    (mapping,) = loaded.mappings
    assert (mapping.name, mapping.update_conflict, mapping.local.filter[0].field) == (
        "CUSTOMER",
        ConflictPolicy.LOCAL_WINS,
        "blocked",
    )
    assert [step.kind for step in mapping.fields[2].transforms] == ["options"]


def test_keys_are_those_set_in_the_models_order_and_all_of_a_mappings() -> None:
    text = render_config(config())
    assert '[local]\nname = "ERP"\nkind = "sql"\nurl = "sqlite:///erp.db"\n' in text, (
        "a system's kind is always written"
    )
    assert "[sync]" not in text, "a table the model was not given is left out"
    assert "\nsync_only_coupled = true\ndepends_on = []\n" in text, "a mapping's every key is written"
    assert '\nupdate_conflict = "local-wins"  ' in text and '\ndelete = "ignore"  ' in text
    blocked = '[{ field = "blocked", op = "eq", value = "" }]'
    assert f'local = {{ table = "customers", key = "id", modified_on = "mod", filter = {blocked} }}\n' in text
    assert '  { local = "name", integration = "name", match = 1, transform = [{ kind = "trim" }] },\n' in text
    assert '  { integration = "customertypecode", constant = 3, direction = "to-integration" },\n' in text
    assert '  { local = "terms", integration = "paymenttermscode", options = { "30 DAYS" = 1, "CM" = 3 } },\n' in text


def test_a_mappings_decisions_have_their_choices_beside_them() -> None:
    lines = render_config(config()).splitlines()
    direction = next(line for line in lines if line.startswith("direction = "))
    assert direction == 'direction = "bidirectional"          # bidirectional | to-integration | from-integration'
    assert any(line.startswith('deletion_conflict = "none"') and "# none (fail) | restore" in line for line in lines)


def test_comments_go_where_the_template_puts_them() -> None:
    mapping, mapping_comments = commented_mapping(
        comment="Customers <-> accounts.\nSecond line.",
        fields=["the name", customer().fields[0], customer().fields[1], "nothing else is mapped"],
        **customer().model_dump(exclude={"fields"}, exclude_unset=True),
    )
    comments = Comments(
        above={(): "The head.\n\nOf the file.", ("local", "url"): "where the ERP is"},
        beside={("local", "name"): "shown in messages"},
        below={("integration",): 'url = "postgresql://db/crm"'},
    )
    text = render_config(config(mapping), Comments.merge(comments, mapping_comments))
    assert text.startswith('# The head.\n#\n# Of the file.\nstate = "sqlite:///state.db"\n\n[local]\n')
    assert (
        '\nname = "ERP"                         # shown in messages\nkind = "sql"\n# where the ERP is\nurl = ' in text
    )
    assert '\nurl = "sqlite:///crm.db"\n# url = "postgresql://db/crm"\n\n# Customers <-> accounts.\n' in text
    assert '\n# Second line.\n[[mappings]]\nname = "CUSTOMER"\n' in text
    fields = text.split("fields = [\n", 1)[1]
    assert fields.startswith('  # the name\n  { local = "name"')
    assert fields.endswith('direction = "to-integration" },\n  # nothing else is mapped\n]\n')


def test_a_secret_is_written_only_as_a_reference() -> None:
    bc = BusinessCentralSettings(
        name="BC", url="https://bc.example", company="CRONUS", client_secret=SecretStr("${BC_SECRET}")
    )
    assert 'client_secret = "${BC_SECRET}"\n' in render_config(config(local=bc))
    leaked = bc.model_copy(update={"client_secret": SecretStr("s3cret")})
    with pytest.raises(ValueError, match=r"only as an environment variable reference") as caught:
        render_config(config(local=leaked))
    assert "s3cret" not in str(caught.value)
