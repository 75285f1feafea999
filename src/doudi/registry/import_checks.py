"""Vectorised validation of a household registry file: every failed check is one (row, field, reason).

Checks run as Polars expressions over the whole file (no per-row Python): required fields, ID numbers
(each GB 11643 failure its own message, and agreement with sex and birth date), vocabularies, numbers,
dates, phone numbers, household consistency (one head, same household columns on every row) and
relation-age plausibility (import_rules.yaml).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import lru_cache
from importlib.resources import files
from typing import Any

import polars as pl
import yaml

from doudi.core import clock
from doudi.core.ids import CHECK_CHARS, WEIGHTS, province_codes
from doudi.registry import vocab
from doudi.registry.import_read import EXTRA, REQUIRED, ROW

ERROR_SCHEMA = {ROW: pl.Int64, "field": pl.Utf8, "reason": pl.Utf8}
# Household columns must agree on every row of a household; compared in canonical form (城镇 = urban).
HOUSEHOLD_FIELDS = {"area_code": "area_code", "address": "address", "hukou_type": "hukou_type_key",
                    "has_capable_supporter": "has_capable_supporter_b",
                    "former_registered_poor": "former_registered_poor_b"}
FLAGS = ("serious_illness", "student", "lives_with_household", "has_capable_supporter", "former_registered_poor",
         "no_civil_capacity", "extreme_poverty_supported", "dibao_recipient")
COUNTS = ("supporters_elsewhere_able", "supporters_elsewhere_unable", "supporters_elsewhere_unverified")
TRUE_WORDS = ["1", "true", "yes", "y", "是", "有"]
FALSE_WORDS = ["0", "false", "no", "n", "否", "无"]
VOCABS: dict[str, type[StrEnum]] = {
    "hukou_type": vocab.HukouType,
    "relation": vocab.Relation,
    "disability_category": vocab.DisabilityCategory,
    "labour_capacity": vocab.LabourCapacity,
    "employment": vocab.Employment,
    "child_status": vocab.ChildStatus,
    "member_exclusion": vocab.MemberExclusion,
    "schooling_stage": vocab.SchoolingStage,
    "support_mode": vocab.SupportMode,
}
SEX_WORDS = {"M": "M", "F": "F", "男": "M", "女": "F", "m": "M", "f": "F"}


@lru_cache
def import_rules() -> dict[str, int]:
    """The relation-age thresholds, by name."""
    data = yaml.safe_load(files("doudi.registry").joinpath("import_rules.yaml").read_text(encoding="utf-8"))
    return {k: int(v["value"]) for k, v in data.items()}


def _vocab_map(enum: type[StrEnum]) -> dict[str, str]:
    """Accepted spellings → key: the key itself and its Chinese label."""
    out = {m.value: m.value for m in enum}
    out.update({vocab.label(m.value): m.value for m in enum})
    return out


def normalise(frame: pl.DataFrame) -> pl.DataFrame:
    """Canonical forms: upper-case 18-digit IDs (15-digit converted), vocabulary keys, parsed dates and numbers."""
    s = pl.col("id_number").str.to_uppercase().str.replace_all(r"\s", "")
    s18 = pl.when(s.str.len_chars() == 15).then(s.str.slice(0, 6) + "19" + s.str.slice(6, 9) + "?").otherwise(s)
    exprs: list[pl.Expr] = [s.alias("id_raw"), s18.alias("id18")]
    for col, enum in VOCABS.items():
        exprs.append(pl.col(col).replace_strict(_vocab_map(enum), default=None).alias(f"{col}_key"))
    exprs.append(pl.col("sex").replace_strict(SEX_WORDS, default=None).alias("sex_key"))
    for col in ("birth_date", "date_of_death", "member_since"):
        text = pl.col(col).str.replace_all("/", "-")
        exprs.append(
            pl.coalesce(
                text.str.strptime(pl.Date, "%Y-%m-%d", strict=False), text.str.strptime(pl.Date, "%Y%m%d", strict=False)
            ).alias(f"{col}_d")
        )
    for col in FLAGS:
        low = pl.col(col).str.to_lowercase()
        exprs.append(
            pl.when(low.is_in(TRUE_WORDS))
            .then(True)
            .when(low.is_in(FALSE_WORDS))
            .then(False)
            .otherwise(None)
            .alias(f"{col}_b")
        )
    exprs.append(pl.col("disability_grade").cast(pl.Int64, strict=False).alias("disability_grade_i"))
    exprs.append(pl.col("self_care_unable_items").cast(pl.Int64, strict=False).alias("self_care_i"))
    exprs += [pl.col(c).cast(pl.Int64, strict=False).alias(f"{c}_i") for c in COUNTS]
    out = frame.with_columns(exprs)
    return _with_id_parts(out)


def _with_id_parts(frame: pl.DataFrame) -> pl.DataFrame:
    s18 = pl.col("id18")
    first17 = s18.str.slice(0, 17)
    digits = [first17.str.slice(i, 1).cast(pl.Int32, strict=False) * w for i, w in enumerate(WEIGHTS)]
    check = (pl.sum_horizontal(digits) % 11).replace_strict(
        list(range(11)), list(CHECK_CHARS), default=None, return_dtype=pl.Utf8
    )
    return frame.with_columns(
        id_check=check,
        id_birth=s18.str.slice(6, 8).str.strptime(pl.Date, "%Y%m%d", strict=False),
        id_sex=pl.when(s18.str.slice(16, 1).cast(pl.Int32, strict=False) % 2 == 1)
        .then(pl.lit("M"))
        .otherwise(pl.lit("F")),
    ).with_columns(
        id_number_n=pl.when(s18.str.slice(17, 1) == "?").then(first17 + pl.col("id_check")).otherwise(s18),
    )


def _row_checks(today: date, area_codes: list[str]) -> list[tuple[str, pl.Expr]]:
    """(field, expression giving the reason or null) for every per-row check."""
    raw, s18 = pl.col("id_raw"), pl.col("id18")
    shape_ok = ((raw.str.len_chars() == 15) & raw.str.contains(r"^\d{15}$")) | raw.str.contains(r"^\d{17}[\dX]$")
    provinces = sorted(province_codes())
    checks: list[tuple[str, pl.Expr]] = [
        (col, pl.when(pl.col(col).is_null()).then(pl.lit("必填字段为空"))) for col in REQUIRED
    ]
    checks += [
        (
            "*",
            pl.when(pl.col(EXTRA) > 0).then(pl.format("该行比表头多 {} 个字段（可能有未加引号的逗号）", pl.col(EXTRA))),
        ),
        (
            "id_number",
            pl.when(raw.is_not_null() & ~raw.str.len_chars().is_in([15, 18])).then(
                pl.format("身份证号应为 18 位（或 15 位旧号），实际 {} 位", raw.str.len_chars())
            ),
        ),
        (
            "id_number",
            pl.when(raw.str.len_chars().is_in([15, 18]) & ~shape_ok).then(
                pl.lit("身份证号前 17 位须为数字，末位为数字或 X（15 位旧号须全为数字）")
            ),
        ),
        (
            "id_number",
            pl.when(shape_ok & ~s18.str.slice(0, 2).is_in(provinces)).then(
                pl.format("地址码 {} 的省级代码 {} 不存在", s18.str.slice(0, 6), s18.str.slice(0, 2))
            ),
        ),
        (
            "id_number",
            pl.when(shape_ok & pl.col("id_birth").is_null()).then(
                pl.format("出生日期 {} 不是有效日期", s18.str.slice(6, 8))
            ),
        ),
        (
            "id_number",
            pl.when(shape_ok & ((pl.col("id_birth") < date(1900, 1, 1)) | (pl.col("id_birth") > today))).then(
                pl.format("出生日期 {} 不在合理范围内", pl.col("id_birth").dt.strftime("%Y-%m-%d"))
            ),
        ),
        (
            "id_number",
            pl.when(shape_ok & (raw.str.len_chars() == 18) & (s18.str.slice(17, 1) != pl.col("id_check"))).then(
                pl.format("校验码应为 {}，实际为 {}", pl.col("id_check"), s18.str.slice(17, 1))
            ),
        ),
        (
            "id_number",
            pl.when(shape_ok & pl.col("id_number_n").is_not_null() & pl.col("id_number_n").is_duplicated()).then(
                pl.format(
                    "身份证号在文件中重复（第 {} 行）", pl.col(ROW).cast(pl.Utf8).str.join(",").over("id_number_n")
                )
            ),
        ),
        (
            "sex",
            pl.when(pl.col("sex").is_not_null() & pl.col("sex_key").is_null()).then(
                pl.format("值 {} 不在可选范围：M/F（男/女）", pl.col("sex"))
            ),
        ),
        (
            "sex",
            pl.when(shape_ok & pl.col("sex_key").is_not_null() & (pl.col("sex_key") != pl.col("id_sex"))).then(
                pl.lit("性别与身份证号第 17 位（奇数为男、偶数为女）不符")
            ),
        ),
        (
            "birth_date",
            pl.when(pl.col("birth_date").is_not_null() & pl.col("birth_date_d").is_null()).then(
                pl.format("日期 {} 格式不正确，应为 YYYY-MM-DD", pl.col("birth_date"))
            ),
        ),
        (
            "birth_date",
            pl.when(
                pl.col("birth_date_d").is_not_null()
                & pl.col("id_birth").is_not_null()
                & (pl.col("birth_date_d") != pl.col("id_birth"))
            ).then(pl.format("出生日期与身份证号中的 {} 不符", pl.col("id_birth").dt.strftime("%Y-%m-%d"))),
        ),
        (
            "date_of_death",
            pl.when(pl.col("date_of_death").is_not_null() & pl.col("date_of_death_d").is_null()).then(
                pl.format("日期 {} 格式不正确，应为 YYYY-MM-DD", pl.col("date_of_death"))
            ),
        ),
        (
            "date_of_death",
            pl.when(
                (pl.col("date_of_death_d") > today)
                | (pl.col("date_of_death_d") < pl.coalesce("birth_date_d", "id_birth"))
            ).then(pl.lit("死亡日期须在出生日期之后且不晚于今天")),
        ),
        (
            "member_since",
            pl.when(pl.col("member_since").is_not_null() & pl.col("member_since_d").is_null()).then(
                pl.format("日期 {} 格式不正确，应为 YYYY-MM-DD", pl.col("member_since"))
            ),
        ),
        (
            "member_since",
            pl.when((pl.col("member_since_d") > today)
                    | (pl.col("member_since_d") < pl.coalesce("birth_date_d", "id_birth"))).then(
                pl.lit("入户日期须不早于出生日期且不晚于今天")
            ),
        ),
        (
            "name",
            pl.when(pl.col("name").str.contains(r"\d") | (pl.col("name").str.len_chars() > 64)).then(
                pl.lit("姓名不应含数字，且不超过 64 个字符")
            ),
        ),
        (
            "household_no",
            pl.when(~pl.col("household_no").str.contains(r"^[0-9A-Za-z_-]{1,32}$")).then(
                pl.lit("户编号只能由字母、数字、- 或 _ 组成，最长 32 位")
            ),
        ),
        (
            "area_code",
            pl.when(pl.col("area_code").is_not_null() & ~pl.col("area_code").is_in(area_codes)).then(
                pl.format("区划代码 {} 不存在（请先导入区划）", pl.col("area_code"))
            ),
        ),
        (
            "phone",
            pl.when(
                pl.col("phone").is_not_null() & ~pl.col("phone").str.contains(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
            ).then(pl.format("电话号码 {} 格式不正确", pl.col("phone"))),
        ),
        (
            "disability_grade",
            pl.when(pl.col("disability_grade").is_not_null() & ~pl.col("disability_grade_i").is_between(1, 4)).then(
                pl.lit("残疾等级应为 1 至 4")
            ),
        ),
        (
            "disability_grade",
            pl.when(pl.col("disability_category").is_null() != pl.col("disability_grade").is_null()).then(
                pl.lit("残疾类别与残疾等级须同时填写或同时为空")
            ),
        ),
        (
            "self_care_unable_items",
            pl.when(pl.col("self_care_unable_items").is_not_null() & ~pl.col("self_care_i").is_between(0, 6)).then(
                pl.lit("生活不能自理项数应为 0 至 6 的整数")
            ),
        ),
    ]
    for col in VOCABS:
        options = "、".join(m.value for m in VOCABS[col])
        checks.append(
            (
                col,
                pl.when(pl.col(col).is_not_null() & pl.col(f"{col}_key").is_null()).then(
                    pl.format("值 {} 不在可选范围：{}", pl.col(col), pl.lit(options))
                ),
            )
        )
    for col in COUNTS:
        checks.append(
            (
                col,
                pl.when(pl.col(col).is_not_null() & ~pl.col(f"{col}_i").is_between(0, 99)).then(
                    pl.format("人数 {} 应为 0 至 99 的整数", pl.col(col))
                ),
            )
        )
    checks.append(
        (
            "support_mode",
            pl.when(
                pl.col("support_mode").is_not_null() & ~pl.col("extreme_poverty_supported_b").fill_null(False)
            ).then(pl.lit("只有特困供养人员登记供养方式（集中/分散）")
            ),
        )
    )
    for col in FLAGS:
        checks.append(
            (
                col,
                pl.when(pl.col(col).is_not_null() & pl.col(f"{col}_b").is_null()).then(
                    pl.format("值 {} 应为 是/否（1/0）", pl.col(col))
                ),
            )
        )
    return checks


def _household_checks(today: date) -> list[tuple[str, pl.Expr]]:
    rules = import_rules()
    hh = "household_no"
    rel = pl.col("relation_key")
    born = pl.coalesce("birth_date_d", "id_birth")
    head_born = born.filter(rel == "head").first().over(hh)
    head_sex = pl.coalesce("sex_key", "id_sex").filter(rel == "head").first().over(hh)
    years = (born - head_born).dt.total_days() / 365.25  # positive: younger than the head
    heads = (rel == "head").sum().over(hh)
    checks: list[tuple[str, pl.Expr]] = [
        ("relation", pl.when(pl.col(hh).is_not_null() & (heads == 0)).then(pl.lit("该户没有户主（relation=head）"))),
        ("relation", pl.when((rel == "head") & (heads > 1)).then(pl.format("该户有 {} 个户主，只能有一个", heads))),
        (
            "relation",
            pl.when((rel == "spouse") & ((rel == "spouse").sum().over(hh) > 1)).then(pl.lit("该户有多个配偶")),
        ),
        (
            "relation",
            pl.when((rel == "spouse") & (pl.coalesce("sex_key", "id_sex") == head_sex)).then(
                pl.lit("配偶与户主性别相同")
            ),
        ),
        (
            "relation",
            pl.when((rel == "spouse") & (((pl.lit(today) - born).dt.total_days() / 365.25) < rules["adult_age"])).then(
                pl.format("配偶未满 {} 周岁", pl.lit(rules["adult_age"]))
            ),
        ),
        (
            "relation",
            pl.when(rel.is_in(["child"]) & (years < rules["min_generation_gap"])).then(
                pl.format("子女应比户主至少小 {} 岁", pl.lit(rules["min_generation_gap"]))
            ),
        ),
        (
            "relation",
            pl.when(rel.is_in(["parent"]) & (-years < rules["min_generation_gap"])).then(
                pl.format("父母应比户主至少大 {} 岁", pl.lit(rules["min_generation_gap"]))
            ),
        ),
        (
            "relation",
            pl.when((rel == "grandchild") & (years < rules["min_two_generation_gap"])).then(
                pl.format("孙子女应比户主至少小 {} 岁", pl.lit(rules["min_two_generation_gap"]))
            ),
        ),
        (
            "relation",
            pl.when((rel == "grandparent") & (-years < rules["min_two_generation_gap"])).then(
                pl.format("祖父母应比户主至少大 {} 岁", pl.lit(rules["min_two_generation_gap"]))
            ),
        ),
    ]
    for col, compared in HOUSEHOLD_FIELDS.items():
        first = pl.col(compared).first().over(hh)
        first_row = pl.col(ROW).first().over(hh)
        checks.append(
            (
                col,
                pl.when(pl.col(hh).is_not_null() & ~pl.col(compared).eq_missing(first)).then(
                    pl.format("与同户第 {} 行的 {} 不一致", first_row, pl.lit(col))
                ),
            )
        )
    return checks


def validate(frame: pl.DataFrame, *, area_codes: list[str], today: date | None = None,
             outside: pl.Expr | None = None) -> pl.DataFrame:
    """Every failed check as (row_number, field, reason), in file order; `outside` is true for area codes
    outside the importing user's area (auth.scope.outside_area_expr)."""
    today = today or clock.today()
    checks = _row_checks(today, area_codes) + _household_checks(today)
    if outside is not None:
        checks.append(
            (
                "area_code",
                pl.when(pl.col("area_code").is_in(area_codes) & outside).then(
                    pl.format("区划 {} 不在当前用户的管辖范围内", pl.col("area_code"))
                ),
            )
        )
    named: list[Any] = [expr.alias(f"c{i}") for i, (_f, expr) in enumerate(checks)]
    result = frame.select(pl.col(ROW), *named)
    fields = {f"c{i}": f for i, (f, _e) in enumerate(checks)}
    long = result.unpivot(index=ROW, variable_name="check", value_name="reason").drop_nulls("reason")
    long = long.with_columns(
        field=pl.col("check").replace_strict(fields, return_dtype=pl.Utf8),
        order=pl.col("check").str.slice(1).cast(pl.Int64),
    )
    return long.sort(ROW, "order").select(ROW, "field", "reason").cast(ERROR_SCHEMA)  # type: ignore[arg-type]
