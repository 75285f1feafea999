"""儿童基本生活保障: orphans (institution / community), de-facto unsupported children, key children in hardship.

孤儿: 国务院办公厅关于加强孤儿保障工作的意见 一 (definition), 二（一） (basic living allowance).
事实无人抚养儿童: 关于进一步加强事实无人抚养儿童保障工作的意见 一 (definition: both parents, or one parent
dead or missing and the other, severely disabled, seriously ill, imprisoned, in compulsory rehabilitation or
lost), 三（一） (allowance; 补差 for children already on 低保, 特困 or the 困难残疾人生活补贴).
困境儿童: 国务院关于加强困境儿童保障工作的意见 二（一）: a child who meets the 特困 criteria is supported as
特困, one whose supporters can support but whose family is poor goes to 低保; a monthly allowance exists
only where the county pays one to 重点困境儿童 (安丘 980). Amounts are per child per month (local).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from doudi.policy.programs import supporters as sup
from doudi.policy.protocol import (
    Codes,
    Direct,
    MemberOutput,
    Pairs,
    Params,
    Program,
    Reason,
    SparseMask,
    disability_within,
    mapped,
    money,
    param,
)
from doudi.policy.segments import Segments

KEY = "child_welfare"
STATUSES = ("orphan_institution", "orphan_community", "de_facto_unsupported", "key_hardship", "in_hardship")


@dataclass(frozen=True)
class CWParams(Params):
    """Parameters of the children's allowances."""

    orphan_institution: float = param("child_welfare.allowance.orphan_institution", "number")
    orphan_community: float = param("child_welfare.allowance.orphan_community", "number")
    de_facto_unsupported: float | None = param("child_welfare.allowance.de_facto_unsupported", "number",
                                               optional=True)
    key_hardship: float | None = param("child_welfare.allowance.key_hardship", "number", optional=True)
    de_facto_offset: bool | None = param("child_welfare.de_facto_offset", "bool", optional=True)
    parent_disability: dict[str, int] | None = param("child_welfare.de_facto.parent_disability_max_grade", "dict",
                                                     optional=True)
    minor_age: int = param("age.minor", "int")


CODES = Codes(KEY, [
    Reason("orphan_institution", "机构养育孤儿，基本生活费 {allowance} 元/月", ("child_welfare.orphan",)),
    Reason("orphan_community", "社会散居孤儿，基本生活费 {allowance} 元/月", ("child_welfare.orphan",)),
    Reason("de_facto_unsupported", "事实无人抚养儿童，基本生活补贴 {allowance} 元/月", ("child_welfare.de_facto",)),
    Reason("key_hardship", "重点困境儿童，基本生活费 {allowance} 元/月", ("child_welfare.key_hardship",)),
    Reason("hardship_no_allowance",
           "困境儿童（非重点）：按分类保障纳入低保、特困等相应保障，本地未单列基本生活费",
           ("child_welfare.hardship",)),
    Reason("not_in_force", "评估日期当地尚未实行该类儿童基本生活补贴", ("child_welfare.de_facto",)),
    Reason("not_a_minor", "{age} 周岁，已满 {minor_age} 周岁，不属于儿童保障对象", ("child_welfare.orphan",)),
    Reason("excluded_member", "服刑、宣告失踪等人员不予发放", ("child_welfare.de_facto",)),
    Reason("parent_able",
           "同户的父/母不属于重残、重病、服刑在押、强制隔离戒毒或失联情形，不符合事实无人抚养儿童定义",
           ("child_welfare.de_facto_definition",)),
    Reason("parent_unclear",
           "待核实：同户成员中可能的父/母不属于重残、重病等情形，但其与儿童的关系无法由与户主关系确定",
           ("child_welfare.de_facto_definition",)),
    Reason("topped_up",
           "已领取低保金、特困供养金或困难残疾人生活补贴 {other} 元/月，未达补贴标准 {allowance} 元，补差发放",
           ("child_welfare.de_facto",)),
    Reason("chose_extreme_poverty", "同时符合特困人员条件，特困供养待遇较高，按特困人员保障",
           ("extreme_poverty.choice_child",)),
    Reason("covered_by_extreme_poverty", "符合特困人员条件的困境儿童纳入特困人员救助供养",
           ("child_welfare.hardship",)),
])


def _able_parent(q: CWParams) -> pl.Expr:
    """A parent who is none of 重残, 重病, 服刑在押, 强制隔离戒毒, 宣告失踪 (事实无人抚养儿童意见 一)."""
    severe = disability_within(q.parent_disability) if q.parent_disability else pl.lit(False)
    return (pl.col("adult") & ~severe & ~pl.col("serious_illness")
            & ~pl.col("exclusion").is_in(["imprisoned", "compulsory_rehab", "declared_missing"]).fill_null(False))


def _parents(m: pl.DataFrame, q: CWParams, on: date, seg: Segments) -> pl.DataFrame:
    """For a de-facto unsupported child: parents in the household who are none of the listed situations
    (certain, or only possible when the relation to the head cannot tell)."""
    del on
    # The status as a small integer (0 = none), looked up on the few members who have one.
    status = m["child_status"]
    with_status = np.flatnonzero(status.is_not_null().to_numpy())
    code = np.zeros(m.height, np.int8)
    if with_status.size:
        code[with_status] = status.gather(with_status).to_frame().select(
            mapped(pl.first(), {st: i + 1 for i, st in enumerate(STATUSES)}, 0, pl.Int8)).to_series().to_numpy()
    rows = np.flatnonzero((code == STATUSES.index("de_facto_unsupported") + 1) & m["minor"].to_numpy())
    certain, possible = np.zeros(m.height, np.int32), np.zeros(m.height, np.int32)
    if rows.size:
        role = m["role"].to_numpy()
        # Only the households of these children matter: evaluate the parents' situation there alone.
        flag = np.zeros(m.height, bool)
        flag[rows] = True
        near = np.flatnonzero((seg.reduce(flag.astype(np.int64), "sum") > 0)[seg.member_rows.to_numpy()])
        able = np.zeros(m.height, bool)
        able[near] = m[near].select(_able_parent(q)).to_series().to_numpy()
        adult = m["adult"].to_numpy()
        ones = np.ones(m.height, bool)
        c, p = sup.supporter_counts(rows, role, able, ones, ones, sup.household_counts(role, able, seg),
                                    sup.household_counts(role, adult, seg), bases=["parent"])
        certain[rows], possible[rows] = c, p
    return m.with_columns(cw_code=pl.Series(code), cw_parents_able=pl.Series(certain),
                          cw_parents_maybe=pl.Series(possible))


def _members(m: pl.DataFrame, q: CWParams, on: date) -> pl.DataFrame:
    """Per-child criteria and full allowance, before the choices with 特困 and the top-ups."""
    del on
    allowance = {"orphan_institution": q.orphan_institution, "orphan_community": q.orphan_community,
                 "de_facto_unsupported": q.de_facto_unsupported, "key_hardship": q.key_hardship}
    paid = {STATUSES.index(k) + 1: float(v) for k, v in allowance.items() if v is not None}
    code = pl.col("cw_code")
    de_facto = code == STATUSES.index("de_facto_unsupported") + 1
    m = m.with_columns(
        cw_parent_able=de_facto & (pl.col("cw_parents_able") > 0),
        cw_parent_unclear=de_facto & (pl.col("cw_parents_able") == 0) & (pl.col("cw_parents_maybe") > 0),
        cw_allowance=mapped(code, paid, None, pl.Float64),
        cw_art9=(code >= 1) & (code <= STATUSES.index("de_facto_unsupported") + 1),
    )
    return m.with_columns(
        cw_ok=(code > 0) & pl.col("minor") & pl.col("exclusion").is_null()
        & pl.col("cw_allowance").is_not_null() & ~pl.col("cw_parent_able") & ~pl.col("cw_parent_unclear"),
    )


def _choice(m: pl.DataFrame, q: CWParams, on: date) -> pl.DataFrame:
    """Art. 9 (the better of 特困 and the orphan / de-facto allowance) and 困境儿童意见 二（一） (特困 first)."""
    del q, on
    both = pl.col("ep_ok") & pl.col("cw_ok") & pl.col("cw_art9")
    ep_better = both & (pl.col("cw_allowance") < pl.col("ep_full_amount"))
    hardship_in_ep = pl.col("ep_ok") & pl.col("cw_ok") & ~pl.col("cw_art9")
    return m.with_columns(cw_eligible=pl.col("cw_ok") & ~ep_better & ~hardship_in_ep)


def _settle(m: pl.DataFrame, q: CWParams, on: date) -> pl.DataFrame:
    """Amounts: a de-facto child already on 低保, 特困 or the living subsidy gets the difference (补差)."""
    del on
    other = pl.col("db_person_amount") + pl.col("ds_living_base")
    topped = (pl.col("cw_eligible") & (pl.col("child_status") == "de_facto_unsupported") & (other > 0)
              if q.de_facto_offset else pl.lit(False))
    m = m.with_columns(cw_topped=topped, cw_other=money(other)).with_columns(
        cw_amount=money(pl.when(~pl.col("cw_eligible")).then(0.0)
                        .when(pl.col("cw_topped")).then(pl.max_horizontal(pl.col("cw_allowance") - other,
                                                                            pl.lit(0.0)))
                        .otherwise(pl.col("cw_allowance"))),
    )
    return m


def _reason_parts(q: CWParams) -> tuple[Pairs, pl.Expr, Pairs]:
    """The reason mask, on the children with a status only."""
    del q
    code = pl.col("cw_code")  # 0 = no status
    hardship = STATUSES.index("in_hardship") + 1
    has = code > 0
    present = has & pl.col("minor") & pl.col("exclusion").is_null()
    return [], has, [
        *[(pl.col("cw_eligible") & (code == i + 1), s) for i, s in enumerate(STATUSES) if s != "in_hardship"],
        (present & (code == hardship), "hardship_no_allowance"),
        (present & (code != hardship) & pl.col("cw_allowance").is_null(), "not_in_force"),
        (has & ~pl.col("minor"), "not_a_minor"),
        (has & pl.col("exclusion").is_not_null(), "excluded_member"),
        (pl.col("cw_parent_able") & pl.col("minor"), "parent_able"),
        (pl.col("cw_parent_unclear") & pl.col("minor"), "parent_unclear"),
        (pl.col("cw_topped"), "topped_up"),
        (pl.col("cw_ok") & ~pl.col("cw_eligible") & pl.col("cw_art9"), "chose_extreme_poverty"),
        ((pl.col("cw_ok") | (code == hardship)) & ~pl.col("cw_eligible") & ~pl.col("cw_art9")
         & pl.col("ep_ok"), "covered_by_extreme_poverty"),
    ]


def _household(h: pl.DataFrame, q: CWParams, on: date) -> pl.DataFrame:
    del q, on
    return h.with_columns(
        child_welfare_eligible=pl.col("child_welfare_persons") > 0,
        child_welfare_amount=money(pl.col("child_welfare_amount_sum")),
        child_welfare_level=pl.lit(None, pl.String),
        child_welfare_reasons=pl.lit(0, pl.Int64),
        child_welfare_in_force=pl.lit(True),
    )


def _person_sums(q: Any) -> dict[str, tuple[pl.Expr, str]]:
    del q
    return {"child_welfare_persons": (pl.col("cw_eligible"), "sum"),
            "child_welfare_amount_sum": (pl.col("cw_amount"), "sum")}


def _member_context(m: Mapping[str, Any], q: CWParams, ms: list[dict[str, Any]]) -> dict[str, Any]:
    del ms
    return {"allowance": m["cw_allowance"], "other": m["cw_other"], "minor_age": q.minor_age}


def _member_details(m: Mapping[str, Any], q: CWParams) -> dict[str, Any]:
    del q
    return {"level": m["child_status"] if m["cw_eligible"] else None}


PROGRAM = Program(
    key=KEY, label="孤儿及困境儿童基本生活保障", order=60, codes=CODES, params=CWParams,
    refs=("child_welfare.orphan", "child_welfare.de_facto", "child_welfare.hardship"),
    stages={"persons": (Direct(_parents), _members), "choices": _choice,
            "settle": (_settle, SparseMask(CODES, "cw_reasons", _reason_parts)), "household": _household},
    trace=lambda h, ms, q, on: {},
    member_output=MemberOutput(eligible="cw_eligible", amount="cw_amount", reasons="cw_reasons",
                               level=lambda: pl.col("child_status")),
    member_context=_member_context,
    member_details=_member_details,
    person_sums=_person_sums,
)
