"""Wrong commands and broken configurations: exit code 2, one clear line per problem, never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .support import Demo, Result, run_coupler

pytestmark = pytest.mark.e2e

MAPPINGS = "SALESPEOPLE, CURRENCY, CUSTOMER, CONTACT, ITEM-PRODUCT"


def _problems(result: Result) -> list[str]:
    """The error lines on stderr; nothing else may be there."""
    lines = result.stderr.splitlines()
    assert lines, str(result)
    assert all(line.startswith("error: ") for line in lines), str(result)
    assert "internal error" not in result.output
    return [line.removeprefix("error: ") for line in lines]


def _broken(demo: Demo, old: str, new: str, *, count: int = 1) -> Path:
    text = demo.config.read_text(encoding="utf-8")
    assert text.count(old) == count, old
    broken = demo.directory / "broken.toml"
    broken.write_text(text.replace(old, new), encoding="utf-8")
    return broken


def _run(demo: Demo, config: Path, *args: str) -> Result:
    return run_coupler(*args, "--config", config, cwd=demo.directory, expect=2)


def test_unknown_mapping(demo: Demo) -> None:
    result = demo.coupler("sync", "NOPE", expect=2)
    [problem] = _problems(result)
    assert "'NOPE'" in problem and MAPPINGS in problem


def test_unknown_key_for_couple(demo: Demo) -> None:
    _, name = demo.matched_customers()[0]
    result = demo.coupler("couple", "CUSTOMER", "C99999", name, expect=2)
    [problem] = _problems(result)
    assert problem == "Business Central has no Customer C99999."
    assert not demo.query(demo.state, "SELECT * FROM coupler_couplings")
    assert not demo.query(demo.state, "SELECT * FROM coupler_jobs"), "a mistyped number writes no job"


def test_unknown_number_for_sync_and_decouple_is_a_message_and_no_job(demo: Demo) -> None:
    for command in ("sync", "decouple"):
        result = demo.coupler(command, "CUSTOMER", "C99999", expect=2)
        [problem] = _problems(result)
        assert problem.startswith("Business Central has no Customer C99999"), problem
    assert not demo.query(demo.state, "SELECT * FROM coupler_jobs"), "no failed job in the synchronization log"


def test_couple_needs_two_records_or_create(demo: Demo) -> None:
    number, name = demo.matched_customers()[0]
    [problem] = _problems(demo.coupler("couple", "CUSTOMER", number, expect=2))
    assert "--create" in problem
    [problem] = _problems(demo.coupler("couple", "CUSTOMER", number, name, "--create", expect=2))
    assert "--create takes one record" in problem


def test_full_sync_without_a_mapping(demo: Demo) -> None:
    result = demo.coupler("sync", "--full", "--json", expect=2)
    [problem] = _problems(result)
    assert "--full needs a mapping" in problem
    assert result.json() == {"error": "UsageError", "problems": [problem]}


def test_full_sync_of_keys(demo: Demo) -> None:
    number, _ = demo.matched_customers()[0]
    [problem] = _problems(demo.coupler("sync", "CUSTOMER", number, "--full", expect=2))
    assert "--full" in problem and "keys" in problem


def test_errors_of_an_unknown_job_is_a_usage_error(demo: Demo) -> None:
    result = demo.coupler("errors", "no-such-job", expect=2)
    [problem] = _problems(result)
    assert "'no-such-job'" in problem and "coupler jobs" in problem


def test_toml_syntax_error(demo: Demo) -> None:
    broken = _broken(demo, 'state = "sqlite:///coupler-state.db"', 'state = "sqlite:///coupler-state.db')
    result = _run(demo, broken, "check")
    [problem] = _problems(result)
    assert problem.startswith(f"{broken}: not valid TOML")
    assert re.search(r"line \d+", problem)
    assert result.stdout == ""


def test_unknown_key(demo: Demo) -> None:
    broken = _broken(demo, 'name = "CUSTOMER"\n', 'name = "CUSTOMER"\nsync_every = 5\n')
    result = _run(demo, broken, "sync", "--json")
    problems = [f"{broken}: mapping CUSTOMER, key sync_every: unknown key"]
    assert _problems(result) == problems
    assert result.json() == {"error": "ConfigurationError", "problems": problems}


def test_mapped_column_missing_from_the_database(demo: Demo) -> None:
    broken = _broken(demo, 'local = "website", ', 'local = "homepage", ')
    result = _run(demo, broken, "check")
    [problem] = _problems(result)
    assert problem.startswith(f"{broken}: mapping CUSTOMER, key fields[")
    assert "].local:" in problem and "'customers'" in problem and "no column 'homepage'" in problem


def test_missing_config_file(demo: Demo) -> None:
    missing = demo.directory / "nowhere.toml"
    result = _run(demo, missing, "mappings")
    [problem] = _problems(result)
    assert problem.startswith(f"{missing}: no configuration file here")


def test_literal_password_is_refused_and_never_shown(demo: Demo) -> None:
    secret = "Sup3rSecretPw"
    broken = _broken(
        demo, 'state = "sqlite:///coupler-state.db"', f'state = "postgresql://coupler:{secret}@127.0.0.1:5432/state"'
    )
    result = _run(demo, broken, "sync", "--json")
    assert secret not in result.output
    [problem] = _problems(result)
    assert problem.startswith(f"{broken}: key state: the URL holds a password")
    assert "${" in problem, "it says how to write the password instead"
    assert result.json()["problems"] == [problem]


def test_password_from_the_environment_is_never_shown(demo: Demo) -> None:
    secret = "An0therSecretPw"
    broken = _broken(
        demo,
        'url = "sqlite:///crm.db"',
        'url = "postgresql+psycopg://coupler:${COUPLER_E2E_PASSWORD}@127.0.0.1:1/crm?connect_timeout=5"',
    )
    result = run_coupler(
        "check", "--config", broken, cwd=demo.directory, env={"COUPLER_E2E_PASSWORD": secret}, expect=1
    )
    assert secret not in result.output
    assert "FAILED" in result.stdout and "Dynamics 365 Sales" in result.stdout
    assert "internal error" not in result.output


def test_state_store_that_cannot_be_opened(demo: Demo) -> None:
    broken = _broken(demo, 'state = "sqlite:///coupler-state.db"', 'state = "sqlite:///no/such/folder/state.db"')
    result = run_coupler("sync", "--json", "--config", broken, cwd=demo.directory)
    assert "internal error" not in result.output, str(result)
    assert result.code == 1, str(result)
    data = result.json()
    assert "state" in data["problems"][0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("couple", "CUSTOMER", "C00010", "--create", "--sync-after", "local"), "--sync-after does not apply"),
        (("couple", "CUSTOMER", "C00010", "X", "--from", "integration"), "--from applies to --create only"),
        (("sync", "CUSTOMER", "--direction", "to-integration"), "--direction applies to the records given by key"),
        (("couple", "CUSTOMER", "C00010"), "give both the Business Central record and the Dynamics 365 Sales record"),
    ],
)
def test_options_that_do_not_fit_are_refused(demo: Demo, args: tuple[str, ...], message: str) -> None:
    [problem] = _problems(demo.coupler(*args, expect=2))
    assert message in problem


def test_unknown_options_are_usage_errors(demo: Demo) -> None:
    result = demo.coupler("sync", "--nope", expect=2)
    assert "No such option: --nope" in result.output
    assert "internal error" not in result.output


EXTRA_MAPPING = """
[[mappings]]
name = "EXTRA"
direction = "to-integration"
depends_on = {depends_on}
local = {{ table = "currencies", key = "id", display_key = "code", modified_on = "lastModifiedDateTime" }}
integration = {{ table = "transactioncurrency", key = "transactioncurrencyid", modified_on = "modifiedon" }}
fields = [{{ local = "code", integration = "isocurrencycode", transform = [{transform}] }}]
"""


def _with_extra(demo: Demo, *, depends_on: str = "[]", transform: str = '{ kind = "trim" }') -> Path:
    extra = demo.directory / "extra.toml"
    text = demo.config.read_text(encoding="utf-8")
    extra.write_text(text + EXTRA_MAPPING.format(depends_on=depends_on, transform=transform), encoding="utf-8")
    return extra


def test_a_transform_that_does_not_exist_is_a_configuration_error(demo: Demo) -> None:
    config = _with_extra(demo, transform='{ kind = "reverse" }')
    [problem] = _problems(_run(demo, config, "check"))
    assert "mapping EXTRA, key fields[0].transform[0]: unknown transform 'reverse'" in problem


def test_a_bad_transform_setting_is_a_configuration_error(demo: Demo) -> None:
    config = _with_extra(demo, transform='{ kind = "replace", pattern = "(", replacement = "" }')
    [problem] = _problems(_run(demo, config, "sync"))
    assert "mapping EXTRA, key fields[0].transform[0]" in problem and "replace" in problem


def test_mappings_that_depend_on_each_other_are_a_configuration_error(demo: Demo) -> None:
    text = demo.config.read_text(encoding="utf-8")
    start = text.index('name = "CURRENCY"')
    end = text.find("[[mappings]]", start)
    block = re.sub(r"(?m)^depends_on = .*\n", "", text[start:end])
    block = block.replace('name = "CURRENCY"', 'name = "CURRENCY"\ndepends_on = ["EXTRA"]', 1)
    looped = (
        text[:start]
        + block
        + text[end:]
        + EXTRA_MAPPING.format(depends_on='["CURRENCY"]', transform='{ kind = "trim" }')
    )
    config = demo.directory / "looped.toml"
    config.write_text(looped, encoding="utf-8")
    problems = _problems(_run(demo, config, "sync"))
    assert any(
        "cycle: CURRENCY -> EXTRA -> CURRENCY" in p or "cycle: EXTRA -> CURRENCY -> EXTRA" in p for p in problems
    )


def test_a_database_driver_that_is_not_installed_is_a_configuration_error(demo: Demo) -> None:
    broken = _broken(demo, 'url = "sqlite:///erp.db"', 'url = "mysql://coupler@127.0.0.1/erp"')
    [problem] = _problems(_run(demo, broken, "check"))
    assert "key local.url" in problem and "MySQLdb" in problem and "pip install mysqlclient" in problem
    unknown = _broken(demo, 'url = "sqlite:///crm.db"', 'url = "nosuchdb://127.0.0.1/crm"')
    [problem] = _problems(_run(demo, unknown, "sync"))
    assert "key integration.url" in problem and "nosuchdb://" in problem


def test_a_mapping_name_too_long_for_the_state_store_is_a_configuration_error(demo: Demo) -> None:
    name = "EXTRA-" + "X" * 184
    extra = demo.directory / "long.toml"
    mapping = EXTRA_MAPPING.format(depends_on="[]", transform='{ kind = "trim" }').replace("EXTRA", name)
    extra.write_text(demo.config.read_text(encoding="utf-8") + mapping, encoding="utf-8")
    [problem] = _problems(_run(demo, extra, "sync"))
    assert f"mapping {name}, key name" in problem and "at most 100 characters; this one has 190" in problem
    assert not (demo.directory / "coupler-state.db").exists(), "refused before anything ran"


@pytest.mark.parametrize("command", ["jobs", "errors"])
def test_a_count_out_of_range_is_a_usage_error(demo: Demo, command: str) -> None:
    for value in ("99999999999999999999", "100001", "0"):
        result = demo.coupler(command, "--last", value, expect=2)
        assert "Invalid value for '--last'" in result.output and "internal error" not in result.output
    assert demo.coupler(command, "--last", "100000", "--json", expect=0).json() == []
