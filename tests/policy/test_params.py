"""Policy packs: inheritance, dated values, validation errors naming file and key, and `doudi policy show`."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from doudi.cli import app
from doudi.policy.params import PACK_DIR, PackError, load_pack


def test_most_specific_pack_wins_and_inherits() -> None:
    taishan = load_pack("440781105001")  # a village of 台山
    assert [pf.region for pf in taishan.chain] == ["440781", "440700", "440000", "national"]
    on = date(2024, 1, 1)
    assert taishan.value("relative_poverty.income_line.rural", on) == 5040  # 台山's own value
    assert taishan.value("relative_poverty.income_line.urban", on) == 6600  # inherited from 江门
    assert taishan.value("extreme_poverty.basic_multiplier", on) == 1.6  # from 广东
    assert taishan.value("age.elderly", on) == 60  # national
    assert load_pack("440703").value("relative_poverty.income_line.rural", on) == 6600  # 蓬江 has no own pack


def test_date_selects_the_value() -> None:
    anqiu = load_pack("370784")
    # The township approval limit starts with the delegation on 2020-12-01; before that the national 0 applies.
    assert anqiu.value("temporary_assistance.township_limit", date(2020, 11, 30)) == 0
    assert anqiu.value("temporary_assistance.township_limit", date(2020, 12, 1)) == 1000
    jiangmen = load_pack("440700")
    assert jiangmen.value("relative_poverty.method", date(2019, 12, 31)) == "income_line"
    assert jiangmen.value("relative_poverty.method", date(2020, 1, 1)) == "multidimensional"
    # 1.3 × nationally from 2016-02-10; nothing before.
    with pytest.raises(PackError):
        load_pack("370784").value("extreme_poverty.basic_multiplier", date(2016, 2, 9))


def test_param_carries_unit_reference_and_provisional_flag() -> None:
    anqiu = load_pack("370784")
    std = anqiu.param("dibao.standard.urban")
    assert (std.unit, std.provisional, std.region) == ("元/人·月", False, "370784")
    assert "安丘" in std.ref
    deduction = anqiu.param("dibao.income.employment_cost_deduction")
    assert deduction.provisional and deduction.note
    resolved = anqiu.at(date(2024, 1, 1))
    assert resolved["dibao.standard.urban"] == 719 and resolved["dibao.standard.rural"] == 537


def test_version_is_a_hash_of_the_chain(tmp_path: Path) -> None:
    shutil.copytree(PACK_DIR, tmp_path / "packs")
    before = load_pack("370784", pack_dir=tmp_path / "packs").version
    assert before == load_pack("370784").version
    path = tmp_path / "packs" / "370784.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("value: 719", "value: 720"), encoding="utf-8")
    after = load_pack("370784", pack_dir=tmp_path / "packs")
    assert after.version != before and after.value("dibao.standard.urban", date(2024, 1, 1)) == 720


def test_arbitrary_namespaces_are_accepted(tmp_path: Path) -> None:
    """Other domains (procedure.*, calendar.*) may add keys with list, dict, bool, date values."""
    shutil.copytree(PACK_DIR, tmp_path / "packs")
    path = tmp_path / "packs" / "370784.yaml"
    path.write_text(path.read_text(encoding="utf-8") + """
  procedure.dibao.total_working_days:
    unit: 工作日
    ref: 审核确认办法 第二十二条
    values: [{from: 2021-07-01, value: 30}, {from: 2020-12-01, value: 20}]
""", encoding="utf-8")
    with pytest.raises(PackError, match=r"370784.yaml: procedure.dibao.total_working_days: values\[1\].from"):
        load_pack("370784", pack_dir=tmp_path / "packs")
    path.write_text(path.read_text(encoding="utf-8").replace(
        "values: [{from: 2021-07-01, value: 30}, {from: 2020-12-01, value: 20}]",
        "values: [{from: 2020-12-01, value: {steps: [accept, investigate], delegated: true, since: 2020-12-01}}]"),
        encoding="utf-8")
    pack = load_pack("370784", pack_dir=tmp_path / "packs")
    value = pack.value("procedure.dibao.total_working_days", date(2021, 1, 1))
    assert value["delegated"] is True and value["since"] == date(2020, 12, 1)


@pytest.mark.parametrize(("snippet", "message"), [
    ("  dibao.standard.urban:\n    unit: 元\n    values: [{from: 2020-01-01, value: 1}]\n",
     "dibao.standard.urban: 缺少 ref"),
    ("  dibao.standard.urban:\n    unit: 元\n    ref: x\n    values: [{from: 2020-01-01, value: abc}]\n",
     "dibao.standard.urban: values[0].value 类型应为 number"),
    ("  dibao.standard.urban:\n    unit: 元\n    ref: x\n    values: [{from: someday, value: 1}]\n",
     "dibao.standard.urban: values[0].from 不是日期"),
    ("  Bad_Key:\n    unit: 元\n    ref: x\n    values: [{from: 2020-01-01, value: 1}]\n", "Bad_Key: 参数名应为"),
    ("  dibao.standard.urban:\n    unit: 元\n    ref: x\n    provisonal: true\n"
     "    values: [{from: 2020-01-01, value: 1}]\n",
     "dibao.standard.urban: 未知字段 provisonal"),
])
def test_malformed_pack_names_file_and_key(tmp_path: Path, snippet: str, message: str) -> None:
    shutil.copytree(PACK_DIR, tmp_path / "packs")
    (tmp_path / "packs" / "440785.yaml").write_text(
        'region: "440785"\nname: 恩平市\nparameters:\n' + snippet, encoding="utf-8")
    with pytest.raises(PackError) as info:
        load_pack("440785", pack_dir=tmp_path / "packs")
    assert "440785.yaml" in str(info.value) and message in str(info.value)


def test_yaml_syntax_error_names_the_file(tmp_path: Path) -> None:
    shutil.copytree(PACK_DIR, tmp_path / "packs")
    (tmp_path / "packs" / "440783.yaml").write_text("region: [unclosed\n", encoding="utf-8")
    with pytest.raises(PackError, match=r"440783\.yaml: YAML"):
        load_pack("440783", pack_dir=tmp_path / "packs")


def test_every_shipped_pack_is_valid() -> None:
    from doudi.policy.params import all_pack_files

    regions = {pf.region for pf in all_pack_files()}
    assert {"national", "370784", "440000", "440700", "440781", "440783", "440785"} <= regions


def test_policy_show_lists_values_and_marks_provisional() -> None:
    result = CliRunner().invoke(app, ["policy", "show", "--region", "370784", "--date", "2024-01-01", "--json"])
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.output)
    rows = {r["key"]: r for r in data["parameters"]}
    assert rows["dibao.standard.rural"]["value"] == 537 and not rows["dibao.standard.rural"]["provisional"]
    assert rows["dibao.income.employment_cost_deduction"]["provisional"] is True
    assert rows["extreme_poverty.care_hours.full"]["value"] == 32
    table = CliRunner().invoke(app, ["policy", "show", "--region", "370784", "--date", "2024-01-01"])
    assert table.exit_code == 0
    assert "待确认" in table.output and "dibao.standard.urban" in table.output
