"""Registry import: every check's message, on hand-made files (both backends)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.core.ids import check_char
from doudi.registry.importer import import_households
from doudi.registry.models import Household, Person
from tests.factories import make_areas
from tests.registry.helpers import family, pid, row, write_csv

ACTOR = system_actor(name="test-import")


def _reasons(result: object) -> list[tuple[int, str, str]]:
    return [tuple(r) for r in result.rejects.select("row_number", "field", "reason").iter_rows()]  # type: ignore[attr-defined]


def _import(db: Session, tmp_path: Path, rows: list[dict[str, str]], name: str = "h.csv") -> object:
    make_areas(db)
    return import_households(db, actor=ACTOR, path=write_csv(tmp_path / name, rows), today=date(2026, 11, 1))


def _single(number: str) -> list[dict[str, str]]:
    r = row("H9", "head", "张三丰", date(1970, 5, 1), "M", 11, id_number=number)
    r.update(sex="", birth_date="")  # derived from the ID when empty
    return [r]


GOOD = pid(date(1970, 5, 1), 11, "M")


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        (GOOD[:17], "身份证号应为 18 位（或 15 位旧号），实际 17 位"),
        (GOOD[:10] + "A" + GOOD[11:], "身份证号前 17 位须为数字，末位为数字或 X（15 位旧号须全为数字）"),
        ("99" + GOOD[2:], "地址码 990784 的省级代码 99 不存在"),
        ("37078419700230001" + check_char("37078419700230001"), "出生日期 19700230 不是有效日期"),
        ("37078420990101001" + check_char("37078420990101001"), "出生日期 2099-01-01 不在合理范围内"),
    ],
)
def test_each_id_failure_has_its_own_message(db: Session, tmp_path: Path, number: str, reason: str) -> None:
    result = _import(db, tmp_path, _single(number))
    assert (2, "id_number", reason) in _reasons(result)
    assert result.rows_ok == 0  # type: ignore[attr-defined]


def test_checksum_message_names_expected_and_actual(db: Session, tmp_path: Path) -> None:
    wrong = "0" if GOOD[-1] != "0" else "1"
    result = _import(db, tmp_path, _single(GOOD[:17] + wrong))
    assert (2, "id_number", f"校验码应为 {GOOD[-1]}，实际为 {wrong}") in _reasons(result)


def test_fifteen_digit_and_lower_case_x_are_normalised(db: Session, tmp_path: Path) -> None:
    # 15-digit form: area 370784, YYMMDD 700501, sequence 011 → 18 digits with '19' and a check char.
    old = "370784" + "700501" + "011"
    seq = next(s for s in range(1, 999, 2) if pid(date(1980, 1, 2), s, "M").endswith("X"))
    x_number = pid(date(1980, 1, 2), seq, "M")
    rows = [*_single(old), row("H8", "head", "李四", date(1980, 1, 2), "M", seq, id_number=x_number.lower())]
    result = _import(db, tmp_path, rows)
    assert result.rows_rejected == 0, _reasons(result)  # type: ignore[attr-defined]
    numbers = set(db.scalars(select(Person.id_number)))
    assert numbers == {"37078419700501011" + check_char("37078419700501011"), x_number}


def test_sex_and_birth_date_must_agree_with_the_id(db: Session, tmp_path: Path) -> None:
    rows = [row("H1", "head", "王五", date(1970, 5, 1), "M", 11, birth_date="1970-05-02")]
    rows[0]["sex"] = "F"
    reasons = _reasons(_import(db, tmp_path, rows))
    assert (2, "sex", "性别与身份证号第 17 位（奇数为男、偶数为女）不符") in reasons
    assert (2, "birth_date", "出生日期与身份证号中的 1970-05-01 不符") in reasons


def test_duplicate_id_in_file_is_reported_on_both_rows(db: Session, tmp_path: Path) -> None:
    a = row("H1", "head", "王五", date(1970, 5, 1), "M", 11)
    b = row("H2", "head", "王六", date(1970, 5, 1), "M", 11)
    reasons = _reasons(_import(db, tmp_path, [a, b]))
    assert (2, "id_number", "身份证号在文件中重复（第 2,3 行）") in reasons
    assert (3, "id_number", "身份证号在文件中重复（第 2,3 行）") in reasons


def test_required_fields_and_vocabularies(db: Session, tmp_path: Path) -> None:
    rows = [row("H1", "head", "", date(1970, 5, 1), "M", 11, hukou_type="city", phone="12345")]
    reasons = _reasons(_import(db, tmp_path, rows))
    assert (2, "name", "必填字段为空") in reasons
    assert (2, "hukou_type", "值 city 不在可选范围：urban、rural") in reasons
    assert (2, "phone", "电话号码 12345 格式不正确") in reasons


def test_chinese_labels_are_accepted(db: Session, tmp_path: Path) -> None:
    rows = family()
    rows[0].update(hukou_type="城镇", relation="户主", sex="男")
    rows[1].update(relation="配偶", sex="女")
    result = _import(db, tmp_path, rows)
    assert result.rows_ok == 3, _reasons(result)  # type: ignore[attr-defined]
    hh = db.scalar(select(Household).where(Household.household_no == "H001"))
    assert hh is not None and hh.hukou_type == "urban"
    assert sorted(m.relation for m in hh.members) == ["child", "head", "spouse"]


def test_household_consistency(db: Session, tmp_path: Path) -> None:
    two_heads = [
        row("H1", "head", "甲一", date(1970, 5, 1), "M", 11),
        row("H1", "head", "乙二", date(1971, 5, 1), "F", 12),
    ]
    no_head = [row("H2", "spouse", "丙三", date(1972, 5, 1), "F", 14)]
    # The child is born in 1990, only 10 years after the head (born 1980): less than 14 years apart.
    young = [
        row("H3", "head", "丁四", date(1980, 5, 1), "M", 21),
        row("H3", "child", "丁五", date(1990, 5, 1), "M", 23),
    ]
    same_sex = [
        row("H4", "head", "戊六", date(1970, 1, 1), "M", 31),
        row("H4", "spouse", "戊七", date(1971, 1, 1), "M", 33),
    ]
    moved = [
        row("H5", "head", "己八", date(1970, 1, 1), "M", 41),
        row("H5", "spouse", "己九", date(1971, 1, 1), "F", 42, hukou_type="rural"),
    ]
    reasons = _reasons(_import(db, tmp_path, two_heads + no_head + young + same_sex + moved))
    assert (2, "relation", "该户有 2 个户主，只能有一个") in reasons
    assert (3, "relation", "该户有 2 个户主，只能有一个") in reasons
    assert (4, "relation", "该户没有户主（relation=head）") in reasons
    assert (6, "relation", "子女应比户主至少小 14 岁") in reasons
    assert (8, "relation", "配偶与户主性别相同") in reasons
    assert (10, "hukou_type", "与同户第 9 行的 hukou_type 不一致") in reasons


def test_unknown_area_and_ragged_row(db: Session, tmp_path: Path) -> None:
    rows = [row("H1", "head", "王五", date(1970, 5, 1), "M", 11, area_code="370784999999")]
    path = write_csv(tmp_path / "r.csv", rows)
    with path.open("a", encoding="utf-8") as fh:  # a row with two fields too many
        fh.write("H2,370784001001,地址,urban,head,赵六," + pid(date(1971, 1, 1), 13, "M") + ",M,1971-01-01,,x,y\n")
    make_areas(db)
    reasons = _reasons(import_households(db, actor=ACTOR, path=path))
    assert (2, "area_code", "区划代码 370784999999 不存在（请先导入区划）") in reasons
    assert (3, "*", "该行比表头多 2 个字段（可能有未加引号的逗号）") in reasons
    assert db.scalar(select(func.count()).select_from(Household)) == 0
