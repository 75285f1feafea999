"""残疾人两项补贴: 困难残疾人生活补贴 (disabled members of 低保 households) and 重度残疾人护理补贴
(disability grade 1–2), per person.

国务院关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见（国发〔2015〕52号）; amounts local.
A de-facto unsupported child on the full allowance gets no living subsidy (事实无人抚养儿童意见 三（一）).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from doudi.policy.protocol import Codes, MemberOutput, Pairs, Params, Program, Reason, SparseMask, money, param
from doudi.policy.resolved import PackError

KEY = "disability_subsidies"


@dataclass(frozen=True)
class DSParams(Params):
    """Parameters of the two disability subsidies."""

    living_amount: float = param("disability_subsidies.living.amount", "number")
    include_marginal: bool = param("disability_subsidies.living.include_marginal", "bool")
    care_max_grade: int = param("disability_subsidies.care.max_grade", "int")
    care_grade1: float = param("disability_subsidies.care.amount.grade1", "number")
    care_grade2: float = param("disability_subsidies.care.amount.grade2", "number")


CODES = Codes(KEY, [
    Reason("living", "低保家庭中的残疾人，困难残疾人生活补贴 {living} 元/月", ("disability_subsidies.living",)),
    Reason("care", "{grade} 级重度残疾人，护理补贴 {care} 元/月", ("disability_subsidies.care",)),
    Reason("not_low_income", "所在家庭不符合低保条件，不享受困难残疾人生活补贴", ("disability_subsidies.living",)),
    Reason("grade_not_severe", "残疾等级为 {grade} 级，不属于重度残疾人护理补贴对象（{care_max_grade} 级及以上）",
           ("disability_subsidies.care",)),
    Reason("de_facto_full", "已全额领取事实无人抚养儿童补贴，不享受困难残疾人生活补贴", ("child_welfare.de_facto",)),
    Reason("excluded_member", "服刑、宣告失踪等人员不予发放", ("disability_subsidies.living",)),
    # The household qualifies for 低保 but this person is not a 低保 member: say why, not "未纳入低保".
    Reason("extreme_poverty_member", "本人按特困人员救助供养，不作为低保家庭成员享受困难残疾人生活补贴",
           ("disability_subsidies.living",)),
    Reason("not_counted", "本人不计入共同生活的家庭成员，不随低保家庭享受困难残疾人生活补贴",
           ("disability_subsidies.living",)),
])


def _base(m: pl.DataFrame, q: DSParams, on: date) -> pl.DataFrame:
    """Who would get each subsidy before the de-facto child rule (needs db_included, h_marginal_test)."""
    del on
    if q.care_max_grade > 2:
        raise PackError("disability_subsidies.care.max_grade 大于 2 时须另设相应等级的护理补贴金额")
    low_income = pl.col("db_included") | (pl.col("h_marginal_test") if q.include_marginal else pl.lit(False))
    present = pl.col("disabled") & pl.col("exclusion").is_null()
    grade = pl.col("disability_grade")
    return m.with_columns(
        ds_present=present, ds_low_income=low_income,
        ds_living_base=pl.when(present & low_income).then(q.living_amount).otherwise(0.0),
        ds_care=present & (grade <= q.care_max_grade).fill_null(False),
        ds_care_amount=pl.when(present & (grade == 1)).then(q.care_grade1)
        .when(present & (grade == 2) & (grade <= q.care_max_grade)).then(q.care_grade2).otherwise(0.0),
    )


def _settle(m: pl.DataFrame, q: DSParams, on: date) -> pl.DataFrame:
    """The living subsidy except for a de-facto child on the full allowance; amounts and reasons."""
    del on
    de_facto_full = pl.col("cw_eligible") & (pl.col("child_status") == "de_facto_unsupported") & ~pl.col("cw_topped")
    m = m.with_columns(ds_living=(pl.col("ds_living_base") > 0) & ~de_facto_full).with_columns(
        ds_living_amount=pl.when(pl.col("ds_living")).then(pl.col("ds_living_base")).otherwise(0.0),
        ds_eligible=pl.col("ds_living") | pl.col("ds_care"),
    ).with_columns(
        ds_amount=money(pl.col("ds_living_amount") + pl.col("ds_care_amount")),
        ds_level=pl.when(pl.col("ds_living") & pl.col("ds_care")).then(pl.lit("living+care"))
        .when(pl.col("ds_living")).then(pl.lit("living")).when(pl.col("ds_care")).then(pl.lit("care")),
    )
    return m.with_columns(ds_de_facto_full=de_facto_full)


def _reason_parts(q: DSParams) -> tuple[Pairs, pl.Expr, Pairs]:
    """The reason mask, on disabled members only."""
    del q
    present = pl.col("ds_present")
    de_facto_full = pl.col("ds_de_facto_full")
    household_db = pl.col("h_db_main") | pl.col("h_db_exit")  # the household qualifies for 低保 (or its exit period)
    return [], pl.col("disabled"), [
        (pl.col("ds_living"), "living"),
        (pl.col("ds_care"), "care"),
        (present & ~pl.col("ds_low_income") & ~household_db, "not_low_income"),
        (present & ~pl.col("ds_low_income") & household_db & pl.col("ep_eligible"), "extreme_poverty_member"),
        (present & ~pl.col("ds_low_income") & household_db & ~pl.col("ep_eligible") & ~pl.col("counted"),
         "not_counted"),
        (present & ~pl.col("ds_care"), "grade_not_severe"),
        (present & (pl.col("ds_living_base") > 0) & de_facto_full, "de_facto_full"),
        (pl.col("disabled") & pl.col("exclusion").is_not_null(), "excluded_member"),
    ]


def _household(h: pl.DataFrame, q: DSParams, on: date) -> pl.DataFrame:
    del q, on
    return h.with_columns(
        disability_subsidies_eligible=pl.col("disability_subsidies_persons") > 0,
        disability_subsidies_amount=money(pl.col("disability_subsidies_amount_sum")),
        disability_subsidies_level=pl.lit(None, pl.String),
        disability_subsidies_reasons=pl.lit(0, pl.Int64),
        disability_subsidies_in_force=pl.lit(True),
    )


def _person_sums(q: Any) -> dict[str, tuple[pl.Expr, str]]:
    del q
    return {"disability_subsidies_persons": (pl.col("ds_eligible"), "sum"),
            "disability_subsidies_amount_sum": (pl.col("ds_amount"), "sum")}


def _member_context(m: Mapping[str, Any], q: DSParams, ms: list[dict[str, Any]]) -> dict[str, Any]:
    del ms
    return {"living": m["ds_living_amount"], "care": m["ds_care_amount"], "grade": m["disability_grade"],
            "care_max_grade": q.care_max_grade}


PROGRAM = Program(
    key=KEY, label="残疾人两项补贴", order=70, codes=CODES, params=DSParams,
    refs=("disability_subsidies.living", "disability_subsidies.care"),
    stages={"members": _base, "settle": (_settle, SparseMask(CODES, "ds_reasons", _reason_parts)),
            "household": _household},
    trace=lambda h, ms, q, on: {},
    member_output=MemberOutput(eligible="ds_eligible", amount="ds_amount", reasons="ds_reasons",
                               level=lambda: pl.col("ds_level")),
    member_context=_member_context,
    member_details=lambda m, q: {"level": m["ds_level"]},
    person_sums=_person_sums,
)
