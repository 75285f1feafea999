"""特困人员 (extreme poverty): per person, all three criteria of Art. 4; care level, amount and care hours.

特困人员认定办法 Art. 4–6 (criteria), Art. 8 (supporters unable), Art. 9 (minors who are also orphans or
de-facto unsupported children), Art. 20–22 (care level), Art. 24 ¶2 (minors continue to 18, and beyond
while at school); 改革完善意见 二（二）5 (minors under 18 covered); 国发〔2016〕14号 (basic living
standard at least 1.3 × the 低保 standard; 1.6 in Guangdong). Supporters: :mod:`.supporters`.
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
    by_hukou,
    mapped,
    money,
    param,
    provisional,
)
from doudi.policy.segments import Segments

KEY = "extreme_poverty"
LEVELS = ("self_care", "partial", "full")
SCHOOL_LABEL = {"primary": "小学（义务教育）", "junior_secondary": "初中（义务教育）", "senior_high": "普通高中",
                "secondary_vocational": "中等职业学校"}
# 供养状态 of a member (sup_status): who stands behind them.
HAS_IN_HOUSEHOLD, HAS_ELSEWHERE, HAS_ELSEWHERE_HOUSEHOLD, NONE, PENDING = range(1, 6)


@dataclass(frozen=True)
class EPParams(Params):
    """Parameters of 特困人员救助供养."""

    counted_kinds: list[str] = param("extreme_poverty.income.counted_kinds", "list")
    basic_multiplier: float = param("extreme_poverty.basic_multiplier", "number")
    basic_urban: float | None = param("extreme_poverty.basic_standard.urban", "number", optional=True)
    basic_rural: float | None = param("extreme_poverty.basic_standard.rural", "number", optional=True)
    partial_min_unable: int = param("extreme_poverty.care.partial_min_unable", "int")
    full_min_unable: int = param("extreme_poverty.care.full_min_unable", "int")
    care_self_care: float = param("extreme_poverty.care_standard.self_care", "number")
    care_partial: float = param("extreme_poverty.care_standard.partial", "number")
    care_full: float = param("extreme_poverty.care_standard.full", "number")
    hours_self_care: float | None = param("extreme_poverty.care_hours.self_care", "number", optional=True)
    hours_partial: float | None = param("extreme_poverty.care_hours.partial", "number", optional=True)
    hours_full: float | None = param("extreme_poverty.care_hours.full", "number", optional=True)
    continue_to_age: int | None = param("extreme_poverty.continue_to_age", "int", optional=True)
    continue_stages: list[str] | None = param("extreme_poverty.continue_in_school.stages", "list", optional=True)
    sup_dibao_min_age: int = param("extreme_poverty.supporter_unable.dibao_min_age", "int")
    sup_elderly_min_age: int = param("extreme_poverty.supporter_unable.elderly_min_age", "int")
    sup_disability: dict[str, int] = param("extreme_poverty.supporter_unable.disability_max_grade", "dict")
    sup_provincial: list[dict[str, Any]] = param("extreme_poverty.supporter_unable.provincial", "list")
    disposable_urban: float = param("statistics.disposable_income.urban", "number")
    disposable_rural: float = param("statistics.disposable_income.rural", "number")
    elderly_age: int = param("age.elderly", "int")
    labour_min_age: int = param("extreme_poverty.no_labour.minor_age", "int")
    care_provisional: bool = provisional("extreme_poverty.care_standard.self_care",
                                         "extreme_poverty.care_standard.partial", "extreme_poverty.care_standard.full")


CODES = Codes(KEY, [
    Reason("no_labour_elderly", "{age} 周岁，年满 {elderly_age} 周岁，无劳动能力", ("extreme_poverty.no_labour",)),
    Reason("no_labour_minor", "{age} 周岁，未满 {labour_min_age} 周岁，无劳动能力", ("extreme_poverty.no_labour",)),
    Reason("no_labour_disability", "{disability}，属无劳动能力的残疾情形", ("extreme_poverty.no_labour",)),
    Reason("continued_minor", "现为特困供养的未成年人（{age} 周岁），可继续享受至 {continue_age} 周岁",
           ("extreme_poverty.minors_continue",)),
    Reason("continued_in_school", "现为特困供养人员，年满 {continue_age} 周岁仍在{school}就读，可继续享受",
           ("extreme_poverty.minors_continue",)),
    Reason("has_labour_capacity",
           "{age} 周岁（已满 {labour_min_age}、未满 {elderly_age} 周岁），且不属于无劳动能力的残疾情形：有劳动能力",
           ("extreme_poverty.no_labour",)),
    Reason("no_livelihood", "本人收入 {own_income} 元/月低于低保标准 {standard} 元/月，且财产符合规定",
           ("extreme_poverty.livelihood",)),
    Reason("own_income_too_high", "本人收入 {own_income} 元/月不低于低保标准 {standard} 元/月",
           ("extreme_poverty.livelihood",)),
    Reason("property_exceeds", "家庭财产不符合规定", ("extreme_poverty.livelihood",)),
    Reason("supporter_in_household", "同户有具备履行能力的法定义务人：{supporters}（按与户主关系和档案推定）",
           ("extreme_poverty.supporters",)),
    Reason("supporter_elsewhere", "登记有在外居住、具备履行能力的法定义务人 {ext_able} 人",
           ("extreme_poverty.supporters",)),
    Reason("supporter_elsewhere_household", "家庭档案登记有在外居住、具备履行能力的法定义务人",
           ("extreme_poverty.supporters",)),
    Reason("no_capable_supporter", "无具备履行能力的法定义务人：{no_supporter_detail}",
           ("extreme_poverty.supporters",)),
    Reason("supporter_ambiguous",
           "待核实：同户可能的法定义务人 {possible_supporters}，其与本人的关系无法由与户主关系确定，暂不认定",
           ("extreme_poverty.supporters",)),
    Reason("supporter_elsewhere_unverified", "待核实：在外居住的法定义务人 {ext_unverified} 人履行能力未核实，暂不认定",
           ("extreme_poverty.supporters",)),
    Reason("supporter_elsewhere_unrecorded",
           "待核实：未登记在外居住的法定义务人及其履行能力（不推定为没有义务人），暂不认定",
           ("extreme_poverty.supporters",)),
    Reason("excluded_member", "服刑、宣告失踪等人员不予认定", ("extreme_poverty.excluded",)),
    Reason("eligible", "同时具备无劳动能力、无生活来源、无具备履行能力的法定义务人三个条件",
           ("extreme_poverty.criteria",)),
    Reason("care_self_care", "六项自理指标全部达到：具备生活自理能力", ("extreme_poverty.care",)),
    Reason("care_partial", "{unable} 项自理指标不能达到：部分丧失生活自理能力", ("extreme_poverty.care",)),
    Reason("care_full", "{unable} 项自理指标不能达到：完全丧失生活自理能力", ("extreme_poverty.care",)),
    Reason("chose_child_welfare",
           "同时符合孤儿/事实无人抚养儿童条件，纳入儿童基本生活保障（待遇较高），不再认定为特困人员",
           ("extreme_poverty.choice_child",)),
    Reason("amount", "{basic_label} {basic} 元 + 照料护理标准 {care} 元 = {amount} 元/月", ("extreme_poverty.amount",)),
    Reason("care_provisional", "照料护理标准 {care} 元为待确认参数（无法规来源的默认值），另加于供养标准之上",
           ("extreme_poverty.care",)),
    Reason("home_care", "分散供养：居家照料服务 {hours} 小时/月", ("extreme_poverty.home_care",)),
    Reason("centralized", "集中供养：由供养服务机构照料，不另安排居家照料时数", ("extreme_poverty.support_mode",)),
    Reason("support_mode_unrecorded", "供养方式（集中/分散）未登记：居家照料时数待选定供养方式后确定",
           ("extreme_poverty.support_mode",)),
])


def _by_rank(values: list[float]) -> pl.Expr:
    r = pl.col("ep_rank")
    return pl.when(r == 3).then(values[2]).when(r == 2).then(values[1]).otherwise(values[0])


def level_name(rank: int | None) -> str | None:
    """The care level name of a rank (1–3)."""
    return LEVELS[rank - 1] if rank else None


def _capacity_inputs(m: pl.DataFrame, q: EPParams, on: date) -> pl.DataFrame:
    """Own income, labour capacity (with the Art. 24 continuation), livelihood, who is a 特困 candidate, and
    each member's capacity as a supporter (pass 1: 特困 status as recorded)."""
    del on
    own = [pl.col(k) for k in q.counted_kinds]
    total = pl.col("wage") + pl.col("business") + pl.col("property") + pl.col("transfer") + pl.col("basic_pension")
    supported = pl.col("extreme_poverty_supported")
    cont_minor = (supported & (pl.col("age") < q.continue_to_age) & ~pl.col("no_labour")
                  if q.continue_to_age is not None else pl.lit(False))
    cont_school = (supported & (pl.col("age") >= q.continue_to_age) & ~pl.col("no_labour")
                   & pl.col("schooling_stage").is_in(q.continue_stages).fill_null(False)
                   if q.continue_to_age is not None and q.continue_stages else pl.lit(False))
    m = m.with_columns(
        income_own_ep=pl.sum_horizontal(own) if own else pl.lit(0.0),
        # Art. 8 (3)(4): 本人收入 (all of it) against last year's per-capita disposable income.
        sup_low_income=(total * 12) < by_hukou(q.disposable_urban, q.disposable_rural),
        dibao_member=pl.coalesce(pl.col("dibao_recipient"), pl.col("hh_receiving_dibao") & pl.col("counted")),
        sup_dependent=sup.dependent(),
        ep_cont_minor=cont_minor, ep_cont_school=cont_school,
        ep_ext_declared=pl.col("ext_able").is_not_null() | pl.col("ext_unable").is_not_null()
        | pl.col("ext_unverified").is_not_null(),
    ).with_columns(
        ep_no_labour=pl.col("no_labour") | pl.col("ep_cont_minor") | pl.col("ep_cont_school"),
        ep_no_livelihood=(pl.col("income_own_ep") < pl.col("std")) & pl.col("prop_ok"),
    )
    return m.with_columns(
        # Only a person without labour capacity and livelihood needs the supporter question answered.
        ep_candidate=pl.col("ep_no_labour") & pl.col("ep_no_livelihood") & pl.col("exclusion").is_null(),
        sup_code=sup.capacity(q, dibao_recipient=pl.col("dibao_member"), prop_ok=pl.col("prop_ok"),
                              low_income=pl.col("sup_low_income")),
    )


def _status(m: pl.DataFrame, certain: np.ndarray, possible: np.ndarray) -> pl.DataFrame:
    status = (pl.when(~pl.col("ep_candidate")).then(None)
              .when(pl.col("sup_certain") > 0).then(HAS_IN_HOUSEHOLD)
              .when(pl.col("ext_able").fill_null(0) > 0).then(HAS_ELSEWHERE)
              .when(~pl.col("ep_ext_declared") & pl.col("hh_capable_elsewhere").fill_null(False))
              .then(HAS_ELSEWHERE_HOUSEHOLD)
              .when((pl.col("sup_possible") > 0) | (pl.col("ext_unverified").fill_null(0) > 0)
                    | (~pl.col("ep_ext_declared") & pl.col("hh_capable_elsewhere").is_null())).then(PENDING)
              .otherwise(NONE))
    m = m.with_columns(sup_certain=pl.Series(certain), sup_possible=pl.Series(possible))
    return m.with_columns(sup_status=status.cast(pl.Int8)).with_columns(
        ep_ok=pl.col("ep_candidate") & (pl.col("sup_status") == NONE))


def _supporters(m: pl.DataFrame, q: EPParams, on: date, seg: Segments) -> pl.DataFrame:
    """Who supports each candidate (特困认定办法 Art. 4 (3), Art. 8): in-household duties and capacities from
    the relations, then supporters living elsewhere. A second pass treats members found 特困 in the first as
    unable (Art. 8 (1)). Counted with numpy for the candidates only."""
    del q, on
    role = m["role"].to_numpy()
    code = m["sup_code"].to_numpy()
    minor, dep, adult = (m[c].to_numpy() for c in ("minor", "sup_dependent", "adult"))
    rows = np.flatnonzero(m["ep_candidate"].to_numpy())
    weights = sup.role_weights(role)
    adult_packed = sup.household_counts(role, adult, seg, weights)

    def counts(at: np.ndarray, capable: np.ndarray, certain: np.ndarray, possible: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        certain, possible = certain.copy(), possible.copy()
        if at.size:
            c, p = sup.supporter_counts(at, role, capable, minor, dep,
                                        sup.household_counts(role, capable, seg, weights), adult_packed)
            certain[at], possible[at] = c, p
        return certain, possible

    capable = code == sup.CAPABLE
    certain, possible = counts(rows, capable, np.zeros(m.height, np.int32), np.zeros(m.height, np.int32))
    m = _status(m, certain, possible)
    found = capable & m["ep_ok"].to_numpy()
    if found.any():  # Art. 8 (1): a 特困 person cannot support the others
        m = m.with_columns(sup_code=pl.Series(np.where(found, sup.EP_NOW, code).astype(np.int8)))
        # Only the candidates of a household with someone found count anew; the others' counts stand.
        touched = (seg.reduce(found.astype(np.int64), "sum") > 0)[seg.member_rows.to_numpy()]
        m = _status(m, *counts(rows[touched[rows]], capable & ~found, certain, possible))
    return m


def care_rank(unable: pl.Expr, q: EPParams) -> pl.Expr:
    """Art. 22: the care rank (1 self-care, 2 partial, 3 full) from the number of the six items not met."""
    return (pl.when(unable >= q.full_min_unable).then(3).when(unable >= q.partial_min_unable).then(2)
            .otherwise(1)).cast(pl.Int8)


def home_care_hours(rank: pl.Expr, q: EPParams) -> pl.Expr:
    """Home-care hours a month of a dispersed 特困 person by care rank (null where the pack sets none)."""
    hours = [q.hours_self_care, q.hours_partial, q.hours_full]
    if any(h is None for h in hours):
        return pl.lit(None, pl.Float64)
    return pl.when(rank == 3).then(hours[2]).when(rank == 2).then(hours[1]).otherwise(hours[0])


def _amounts(m: pl.DataFrame, q: EPParams, on: date) -> pl.DataFrame:
    """Care level, amount and home-care hours (before the Art. 9 choice)."""
    del on
    rank = care_rank(pl.col("self_care_unable_items"), q)
    local = by_hukou(q.basic_urban, q.basic_rural) if q.basic_urban is not None else pl.lit(None, pl.Float64)
    basic = pl.max_horizontal(local.fill_null(0.0), pl.col("std") * q.basic_multiplier)
    m = m.with_columns(ep_rank=rank, ep_basic=money(basic), ep_local_basic=local.fill_null(0.0) >= pl.col(
        "std") * q.basic_multiplier)
    return m.with_columns(
        ep_care=_by_rank([q.care_self_care, q.care_partial, q.care_full]),
        ep_hours=pl.when(pl.col("support_mode") == "dispersed").then(home_care_hours(pl.col("ep_rank"), q)),
    ).with_columns(ep_full_amount=money(pl.col("ep_basic") + pl.col("ep_care")))


def _choice(m: pl.DataFrame, q: EPParams, on: date) -> pl.DataFrame:
    """特困人员认定办法 Art. 9: a minor qualifying as orphan or de-facto unsupported child too is kept in
    the better-paid of the two (the child programme when its allowance is at least as high)."""
    del q, on
    prefer_cw = pl.col("ep_ok") & pl.col("cw_ok") & pl.col("cw_art9") & (pl.col("cw_allowance") >= pl.col(
        "ep_full_amount"))
    m = m.with_columns(ep_eligible=pl.col("ep_ok") & ~prefer_cw)
    return m.with_columns(ep_amount=pl.when(pl.col("ep_eligible")).then(pl.col("ep_full_amount")).otherwise(0.0))


def _reason_parts(q: EPParams) -> tuple[Pairs, pl.Expr, Pairs]:
    """The reason mask: labour capacity and livelihood for everyone; supporters, care and amount only for
    the candidates (computed on those rows alone)."""
    elderly = pl.col("elderly")
    minor = pl.col("age") < q.labour_min_age
    every = [
        (elderly, "no_labour_elderly"),
        (minor, "no_labour_minor"),
        (pl.col("no_labour_disability") & ~elderly & ~minor, "no_labour_disability"),
        (pl.col("ep_cont_minor"), "continued_minor"),
        (pl.col("ep_cont_school"), "continued_in_school"),
        (~pl.col("ep_no_labour"), "has_labour_capacity"),
        (pl.col("ep_no_livelihood"), "no_livelihood"),
        (pl.col("income_own_ep") >= pl.col("std"), "own_income_too_high"),
        (~pl.col("prop_ok"), "property_exceeds"),
        (pl.col("exclusion").is_not_null(), "excluded_member"),
    ]
    st = pl.col("sup_status")
    ext_unrecorded = ~pl.col("ep_ext_declared") & pl.col("hh_capable_elsewhere").is_null()
    ok = pl.col("ep_eligible")
    has_hours = q.hours_self_care is not None
    return every, pl.col("ep_candidate"), [
        (st == HAS_IN_HOUSEHOLD, "supporter_in_household"),
        (st == HAS_ELSEWHERE, "supporter_elsewhere"),
        (st == HAS_ELSEWHERE_HOUSEHOLD, "supporter_elsewhere_household"),
        (st == NONE, "no_capable_supporter"),
        ((st == PENDING) & (pl.col("sup_possible") > 0), "supporter_ambiguous"),
        ((st == PENDING) & (pl.col("ext_unverified").fill_null(0) > 0), "supporter_elsewhere_unverified"),
        ((st == PENDING) & ext_unrecorded, "supporter_elsewhere_unrecorded"),
        (ok, "eligible"),
        (ok & (pl.col("ep_rank") == 1), "care_self_care"),
        (ok & (pl.col("ep_rank") == 2), "care_partial"),
        (ok & (pl.col("ep_rank") == 3), "care_full"),
        (pl.col("ep_ok") & ~ok, "chose_child_welfare"),
        (ok, "amount"),
        (ok & pl.lit(q.care_provisional) & (pl.col("ep_care") > 0), "care_provisional"),
        (ok & pl.col("ep_hours").is_not_null(), "home_care"),
        (ok & (pl.col("support_mode") == "centralized") & pl.lit(has_hours), "centralized"),
        (ok & pl.col("support_mode").is_null() & pl.lit(has_hours), "support_mode_unrecorded"),
    ]


def _household(h: pl.DataFrame, q: EPParams, on: date) -> pl.DataFrame:
    del q, on
    care_name = {i + 1: lv for i, lv in enumerate(LEVELS)}
    return h.with_columns(
        extreme_poverty_eligible=pl.col("extreme_poverty_persons") > 0,
        extreme_poverty_amount=money(pl.col("extreme_poverty_amount_sum")),
        extreme_poverty_level=mapped(pl.col("ep_top_rank"), care_name, None, pl.String),
        extreme_poverty_reasons=pl.lit(0, pl.Int64),
        extreme_poverty_in_force=pl.lit(True),
    )


def _person_sums(q: Any) -> dict[str, tuple[pl.Expr, str]]:
    del q
    return {
        "extreme_poverty_persons": (pl.col("ep_eligible"), "sum"),
        "extreme_poverty_amount_sum": (pl.col("ep_amount"), "sum"),
        "ep_top_rank": (pl.when(pl.col("ep_eligible")).then(pl.col("ep_rank").cast(pl.Int64)).otherwise(0), "max"),
    }


def _trace(h: Mapping[str, Any], ms: list[dict[str, Any]], q: EPParams, on: date) -> dict[str, Any]:
    del ms, on
    return {"standard": h["std"], "basic_multiplier": q.basic_multiplier,
            "capable_supporter_elsewhere_household": h["has_capable_supporter"], "property_ok": h["prop_ok"]}


def _member_context(m: Mapping[str, Any], q: EPParams, ms: list[dict[str, Any]]) -> dict[str, Any]:
    me = next(i for i, x in enumerate(ms) if x["member_idx"] == m["member_idx"])
    found = sup.describe(ms, me)
    by_idx = {x["member_idx"]: x for x in ms}
    texts = {k: v.format(dibao_min_age=q.sup_dibao_min_age, elderly_min_age=q.sup_elderly_min_age,
                         provincial="、".join(str(r.get("label")) for r in q.sup_provincial))
             for k, v in sup.CAPACITY_TEXT.items()}

    def who(s: Mapping[str, Any]) -> str:
        x = by_idx[s["member_index"]]
        return f"成员{x['member_idx'] + 1}（{sup.BASIS_LABEL[s['basis']]}，{x['age']} 周岁）"

    capable = [who(s) for s in found if s["certain"] and s["capacity"] == sup.CAPABLE]
    possible = [who(s) for s in found if not s["certain"] and s["capacity"] == sup.CAPABLE]
    unable = [f"{who(s)}{texts[s['capacity']]}" for s in found if s["capacity"] != sup.CAPABLE]
    parts = ["同户：" + "；".join(unable)] if unable else ["同户没有负有义务的成员"]
    if m["ep_ext_declared"]:
        n = int(m["ext_unable"] or 0)
        parts.append(f"在外居住的义务人已登记 {n} 人，均无履行能力" if n else "已登记无在外居住的义务人")
    elif m["hh_capable_elsewhere"] is False:
        parts.append("家庭档案登记无在外居住、具备履行能力的义务人")
    return {"elderly_age": q.elderly_age, "labour_min_age": q.labour_min_age, "continue_age": q.continue_to_age,
            "own_income": m["income_own_ep"], "standard": m["std"], "unable": m["self_care_unable_items"],
            "basic": m["ep_basic"], "care": m["ep_care"], "amount": m["ep_full_amount"], "hours": m["ep_hours"],
            "school": SCHOOL_LABEL.get(m["schooling_stage"] or "", m["schooling_stage"]),
            "basic_label": "本地供养标准" if m["ep_local_basic"] else f"低保标准的 {q.basic_multiplier:g} 倍",
            "ext_able": m["ext_able"], "ext_unverified": m["ext_unverified"],
            "supporters": "、".join(capable), "possible_supporters": "、".join(possible),
            "no_supporter_detail": "；".join(parts)}


def _member_details(m: Mapping[str, Any], q: EPParams) -> dict[str, Any]:
    del q
    return {"care_level": level_name(m["ep_rank"]),
            "care_hours_per_month": m["ep_hours"] if m["ep_eligible"] else None,
            "support_status": {HAS_IN_HOUSEHOLD: "supporter_in_household", HAS_ELSEWHERE: "supporter_elsewhere",
                               HAS_ELSEWHERE_HOUSEHOLD: "supporter_elsewhere", NONE: "no_capable_supporter",
                               PENDING: "pending"}.get(m["sup_status"])}


PROGRAM = Program(
    key=KEY, label="特困人员救助供养", order=30, codes=CODES, params=EPParams,
    refs=("extreme_poverty.criteria", "extreme_poverty.supporters", "extreme_poverty.care"),
    stages={
        "persons": (_capacity_inputs, Direct(_supporters), _amounts),
        "choices": _choice,
        "settle": SparseMask(CODES, "ep_reasons", _reason_parts),
        "household": _household,
    },
    trace=_trace,
    member_output=MemberOutput(
        eligible="ep_eligible", amount="ep_amount", reasons="ep_reasons",
        level=lambda: pl.col("ep_rank").replace_strict({1: "self_care", 2: "partial", 3: "full"},
                                                      return_dtype=pl.String),
        care_hours=lambda: pl.col("ep_hours")),
    member_context=_member_context,
    member_details=_member_details,
    person_sums=_person_sums,
)
