"""The warning rules' conditions: pure, vectorised frame functions (inputs, parameters, date → hits).

Each function finds every subject its rule flags in the whole frame at once; a rule's label, level,
deadline and legal reference are pack data (`monitoring.rules.<key>`), its thresholds pack parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

import polars as pl

from doudi.core.dates import shift_months
from doudi.monitoring.rules.base import (
    HIT_SCHEMA,
    LIVE,
    Inputs,
    empty,
    feed_hits,
    hits,
    households,
    recipients,
    yuan,
)
from doudi.policy.protocol import age_on

Rule = Callable[[Inputs, Mapping[str, Any], date], pl.DataFrame]
HIT_COLUMNS = ("person_id", "household_id", "id_number", "name", "area_code", "batch_id", "row_number", "source_key")

RECORD_KIND = {"death_registration": "死亡登记", "cremation": "火化记录", "medical_certificate": "死亡医学证明"}
VEHICLE = {"car": "小型汽车", "truck": "货车", "van": "面包车", "vessel": "船舶"}
USE = {"residential": "住宅", "commercial": "商业", "industrial": "工业", "other": "其他"}
PROGRAM_LABEL = {"dibao": "低保", "dibao_marginal": "低保边缘", "extreme_poverty": "特困供养",
                 "rigid_expense_hardship": "刚性支出困难", "temporary_assistance": "临时救助",
                 "child_welfare": "孤儿/事实无人抚养儿童保障", "disability_subsidies": "残疾人两项补贴"}


def _rows(inp: Inputs, source: str) -> pl.DataFrame:
    return inp.by_source(source)


def _label(mapping: Mapping[str, str], col: str) -> pl.Expr:
    return pl.col(col).replace_strict(dict(mapping), default=pl.col(col), return_dtype=pl.String)


def _since_enrolled(rows: pl.DataFrame, inp: Inputs, on: date) -> pl.DataFrame:
    """Rows dated on or after their household's earliest live enrollment (a new holding); for a recipient the
    registry records without an enrollment, rows of the last 12 months."""
    start = (inp.enrollments.filter(pl.col("status").is_in(LIVE))
             .group_by("household_id").agg(enrolled=pl.col("start_month").min()))
    since = pl.coalesce(pl.col("enrolled"), pl.lit(shift_months(on, -12)))
    return rows.join(start, on="household_id", how="left").filter(pl.col("event_date") >= since)


def _recipient_rows(inp: Inputs, source: str, where: pl.Expr | None = None, *, named: bool = True
                    ) -> pl.DataFrame:
    """A source's rows (those `where` keeps) about current members of recipient households, joined on integer
    keys; with `named`, the member's registry name, ID number and area too (a rule that filters further asks
    for them after filtering, with `_named`, so that text columns are joined only to the rows it keeps)."""
    rows = _rows(inp, source)
    if where is not None:
        rows = rows.filter(where)
    out = rows.drop("area_code", "id_number", "name").join(
        recipients(inp).select("person_id", "household_id", "birth_date"), on="person_id")
    return _named(out, inp) if named else out


def _named(rows: pl.DataFrame, inp: Inputs) -> pl.DataFrame:
    """Rows of recipient members with the member's registry name, ID number and area."""
    return rows.join(recipients(inp).select("person_id", "household_id", "area_code", "id_number", "name"),
                     on=["person_id", "household_id"], how="left")


def death(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """A recipient's death or cremation from the feed, or a death recorded in the registry while still enrolled."""
    people = recipients(inp)
    fed = feed_hits(_rows(inp, "death"), people,
                    pl.format("{} 于 {} 死亡（{}）；所在家庭仍在保，应自次月起停发并重新核定",
                              "name", "event_date", _label(RECORD_KIND, "code")),
                    pl.format("date_of_death={}", "event_date"))
    recorded = people.filter(pl.col("date_of_death").is_not_null() & (pl.col("date_of_death") <= on))
    registry = hits(recorded, pl.format("档案记载 {} 于 {} 死亡，所在家庭仍在保，应自次月起停发并重新核定",
                                        "name", "date_of_death"), pl.format("date_of_death={}", "date_of_death"))
    return pl.concat([fed, registry])


def hukou_cancelled(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """A recipient's 户籍 cancelled."""
    rows = _rows(inp, "hukou").filter(pl.col("code") == "cancelled")
    return feed_hits(rows, recipients(inp), pl.format("{} 的户籍已于 {} 注销；所在家庭仍在保", "name", "event_date"),
                     pl.format("hukou_status=cancelled;updated_on={}", "event_date"))


def income_rise(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """A recipient household's per-capita income in the latest month reported rises above the 低保 standard."""
    rows = pl.concat([_recipient_rows(inp, "tax", named=False),
                      _recipient_rows(inp, "social_insurance", pl.col("code").is_in(
                          ["retirement_pension", "unemployment_benefit"]), named=False)])
    if rows.height == 0:
        return empty(HIT_SCHEMA)
    rows = rows.with_columns(month=pl.col("event_date").dt.month_start())
    # Each household's rows of its latest month, then their total and wage flag: a window and a plain grouping
    # (a filter inside the grouping's aggregations took four times as long).
    latest = rows.filter(pl.col("month") == pl.col("month").max().over("household_id"))
    per = (latest.group_by("household_id").agg(month=pl.col("month").first(), total=pl.col("amount").sum(),
                                               wage=(pl.col("code") == "wage").any())
           .join(households(inp, on).filter(pl.col("size") > 0), on="household_id")
           .with_columns(county=pl.col("area_code").str.slice(0, 6))
           .join(inp.standards, on="county")
           .with_columns(per_capita=pl.col("total") / pl.col("size"),
                         standard=pl.when(pl.col("hukou_type") == "urban").then("urban").otherwise("rural"))
           .filter(pl.col("per_capita") > pl.col("standard")))
    evidence = rows.select("household_id", "month", "batch_id", "row_number", "source_key").join(
        per.select("household_id", "area_code", "per_capita", "standard", "wage", "month"),
        on=["household_id", "month"])
    reason = pl.format("{} 月家庭人均收入 {} 元，高于低保标准 {} 元{}", pl.col("month").dt.strftime("%Y-%m"),
                       yuan(pl.col("per_capita")), yuan(pl.col("standard")),
                       pl.when(pl.col("wage")).then(pl.lit("；增收来自就业，可按规定给予渐退期")).otherwise(pl.lit("")))
    detail = pl.format("per_capita={};standard={};month={}", yuan(pl.col("per_capita")), yuan(pl.col("standard")),
                       pl.col("month").dt.strftime("%Y-%m"))
    return hits(evidence, reason, detail)


def real_estate(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """Real estate registered to a recipient household member after enrollment."""
    rows = _named(_since_enrolled(_recipient_rows(inp, "real_estate", named=False), inp, on), inp)
    return hits(rows, pl.format("{} 于 {} 新登记不动产（{}）", "name", "event_date", _label(USE, "code")),
                pl.format("registered_on={};use={}", "event_date", "code"))


def vehicle(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """A vehicle (other than the exempt kinds) registered to a recipient household member after enrollment."""
    exempt = list(p["monitoring.vehicle.exempt_types"])
    rows = _named(_since_enrolled(_recipient_rows(inp, "vehicle", ~pl.col("code").is_in(exempt), named=False),
                                  inp, on), inp)
    return hits(rows, pl.format("{} 于 {} 新登记车辆（{}，估值 {} 元）", "name", "event_date", _label(VEHICLE, "code"),
                                yuan(pl.col("amount").fill_null(0))),
                pl.format("registered_on={};type={}", "event_date", "code"))


def business(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """An active business registered to a recipient household member after enrollment."""
    rows = _named(_since_enrolled(_recipient_rows(inp, "business", pl.col("code") == "active", named=False),
                                  inp, on), inp)
    return hits(rows, pl.format("{} 于 {} 新登记市场主体（存续）", "name", "event_date"),
                pl.format("registered_on={}", "event_date"))


def bank_balance(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """A recipient household's reported financial assets above the property limit (months × urban standard × size)."""
    rows = _recipient_rows(inp, "bank", named=False)
    if rows.height == 0:
        return empty(HIT_SCHEMA)
    total = (rows.group_by("household_id").agg(total=pl.col("amount").sum())
             .join(households(inp, on), on="household_id").with_columns(county=pl.col("area_code").str.slice(0, 6))
             .join(inp.standards, on="county")
             .with_columns(limit=pl.col("financial_months") * pl.col("urban") * pl.col("size"))
             .filter(pl.col("total") > pl.col("limit")))
    out = rows.select("household_id", "batch_id", "row_number", "source_key").join(
        total.select("household_id", "area_code", "total", "limit"), on="household_id")
    return hits(out, pl.format("家庭金融资产合计 {} 元，超过财产限额 {} 元", yuan(pl.col("total")),
                               yuan(pl.col("limit"))),
                pl.format("total={};limit={}", yuan(pl.col("total")), yuan(pl.col("limit"))))


def new_employment(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """Social-insurance contributions by a working-age member of a recipient household."""
    lo, hi = p["monitoring.working_age"]
    rows = _named(_recipient_rows(inp, "social_insurance", pl.col("code") == "contribution", named=False)
                  .with_columns(age=age_on(pl.col("birth_date"), on)).filter(pl.col("age").is_between(lo, hi)), inp)
    return hits(rows, pl.format("{}（{} 岁）自 {} 起缴纳社会保险，可能已就业", "name", "age",
                                pl.col("event_date").dt.strftime("%Y-%m")),
                pl.format("month={};age={}", pl.col("event_date").dt.strftime("%Y-%m"), "age"))


def unemployment(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """A member of a low-income household registers as unemployed: refer to 就业救助."""
    rows = _recipient_rows(inp, "unemployment", pl.col("code") == "registered")
    return hits(rows, pl.format("{} 于 {} 登记失业，建议转人社部门落实就业救助", "name", "event_date"),
                pl.format("registered_on={}", "event_date"))


def medical_cost(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """12-month out-of-pocket medical costs above the pack's share of household income (or the fixed line)."""
    since = shift_months(on, -int(p["monitoring.medical.window_months"]))
    rows = _rows(inp, "medical").filter(pl.col("event_date") > since)
    if rows.height == 0:
        return empty(HIT_SCHEMA)
    share, line = float(p["monitoring.medical.income_share"]), float(p["monitoring.medical.min_yuan"])
    income = inp.incomes.select("household_id", annual="annual_income")
    limit = pl.when(pl.col("annual") > 0).then(pl.col("annual") * share).otherwise(line)
    # People linked to the registry: summed on the integer key; their household's income sets the line.
    linked = rows.filter(pl.col("person_id").is_not_null())
    cost = (linked.group_by("person_id").agg(cost=pl.col("amount").sum())
            .join(inp.members.select("person_id", "household_id"), on="person_id", how="left")
            .join(income, on="household_id", how="left")
            .with_columns(limit=limit).filter(pl.col("cost") > pl.col("limit"))
            .unique("person_id", keep="first"))  # a person listed in two households counts once
    names = cost.select("person_id").join(inp.members.select(
        "person_id", reg_area="area_code", reg_name="name", reg_id="id_number"), on="person_id").unique(
        "person_id", keep="first")
    found = linked.join(cost, on="person_id").join(names, on="person_id", how="left").with_columns(
        area_code=pl.coalesce("reg_area", "area_code"), name=pl.coalesce("reg_name", "name"),
        id_number=pl.coalesce("reg_id", "id_number"))
    # People known only from the feed: by ID number (or name); no household income, so the fixed line.
    alone = rows.filter(pl.col("person_id").is_null()).with_columns(
        who=pl.coalesce(pl.col("id_number"), pl.col("name")), household_id=pl.lit(None, pl.Int64))
    cost_alone = (alone.group_by("who").agg(cost=pl.col("amount").sum())
                  .with_columns(annual=pl.lit(None, pl.Float64), limit=pl.lit(line))
                  .filter(pl.col("cost") > pl.col("limit")))
    out = pl.concat([found.select(*HIT_COLUMNS, "cost", "limit", "annual"),
                     alone.join(cost_alone, on="who").select(*HIT_COLUMNS, "cost", "limit", "annual")],
                    how="vertical_relaxed")
    reason = pl.format("{} 近 12 个月医疗个人自付 {} 元，超过预警线 {} 元{}", "name", yuan(pl.col("cost")),
                       yuan(pl.col("limit")), pl.when(pl.col("annual").is_null()).then(
                           pl.lit("（无家庭收入数据，需入户核实）")).otherwise(
                           pl.format("（家庭年收入 {} 元）", yuan(pl.col("annual")))))
    return hits(out, reason, pl.format("cost={};limit={}", yuan(pl.col("cost")), yuan(pl.col("limit"))))


def severe_disability(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """A grade 1–2 disability certificate issued in the last 12 months (recipient or not)."""
    rows = _rows(inp, "disability").filter((pl.col("grade") <= 2) & (pl.col("event_date") > shift_months(on, -12)))
    known = inp.members.select("person_id", "household_id", reg_area="area_code", reg_name="name", reg_id="id_number")
    rows = rows.join(known, on="person_id", how="left").with_columns(
        area_code=pl.coalesce("reg_area", "area_code"), name=pl.coalesce("reg_name", "name"),
        id_number=pl.coalesce("reg_id", "id_number"))
    return hits(rows, pl.format("{} 于 {} 取得 {} 级残疾人证，核查残疾人两项补贴和重度残疾人单人户低保", "name",
                                "event_date", "grade"), pl.format("grade={};issued_on={}", "grade", "event_date"))


def school_enrolment(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """A child of a recipient household enrols at school: refer to 教育救助."""
    rows = _recipient_rows(inp, "school", pl.col("code") == "enrolled")
    return hits(rows, pl.format("{} 于 {} 入学，建议转教育部门落实教育救助", "name", "event_date"),
                pl.format("enrolled_on={}", "event_date"))


def age_transition(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """A recipient household member turned 16, 18 or 60 within the window before the run date."""
    window = int(p["monitoring.age.window_days"])
    people = recipients(inp).filter(pl.col("date_of_death").is_null() | (pl.col("date_of_death") > on))
    parts = []
    for years in p["monitoring.age.thresholds"]:
        turned = pl.col("birth_date").dt.offset_by(f"{int(years)}y")
        parts.append(people.with_columns(turned=turned, years=pl.lit(int(years))).filter(
            (pl.col("turned") <= on) & (pl.col("turned") > on - timedelta(days=window))))
    rows = pl.concat(parts)
    return hits(rows, pl.format("{} 于 {} 年满 {} 周岁，特困、低保认定条件随之变化，需复核", "name", "turned", "years"),
                pl.format("turned={};age={}", "turned", "years"))


def supporter_lost(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """A member dies and everyone left in the household is elderly, a minor or severely disabled."""
    lo, hi = p["monitoring.working_age"]
    # Only a capable supporter's death leaves the others alone: a working-age member without severe disability.
    dead = _rows(inp, "death").drop("name", "id_number").join(
        inp.members.select("person_id", "household_id", "name", "id_number", "birth_date", "disability_grade"),
        on="person_id").filter(
        age_on(pl.col("birth_date"), on).is_between(lo, hi) & ~(pl.col("disability_grade") <= 2).fill_null(False))
    if dead.height == 0:
        return empty(HIT_SCHEMA)
    left = (inp.members.join(dead.select("household_id").unique(), on="household_id", how="semi")
            .join(dead.select("person_id"), on="person_id", how="anti")
            .filter(pl.col("date_of_death").is_null() | (pl.col("date_of_death") > on))
            .with_columns(age=age_on(pl.col("birth_date"), on))
            .with_columns(dependant=(pl.col("age") < lo) | (pl.col("age") > hi)
                          | (pl.col("disability_grade") <= 2).fill_null(False)))
    alone = left.group_by("household_id").agg(all_dep=pl.col("dependant").all(), n=pl.len(),
                                              area_code=pl.col("area_code").first()).filter(pl.col("all_dep"))
    rows = dead.drop("area_code").join(alone, on="household_id")
    return hits(rows, pl.format("{} 于 {} 死亡，家庭其余 {} 名成员均为老年人、未成年人或重度残疾人，"
                                "需核查特困供养或事实无人抚养儿童保障", "name", "event_date", "n"),
                pl.format("died={};left={}", "event_date", "n"))


def duplicate(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """One person in two households' live enrollments or memberships, or in 特困 and a 低保 household at once."""
    live = inp.enrollments.filter(pl.col("status").is_in(LIVE))
    hh_enrolled = live.select("household_id").unique()
    member_of = inp.members.join(hh_enrolled, on="household_id", how="semi")
    # Only people listed more than once can be in two households: the grouping runs on those few rows.
    member_of = member_of.filter(pl.col("person_id").is_duplicated())
    twice = member_of.group_by("person_id").agg(n=pl.col("household_id").n_unique(),
                                                households=pl.col("household_id").sort().cast(pl.String)
                                                .str.join("、")).filter(pl.col("n") > 1)
    a = member_of.join(twice, on="person_id")
    a = hits(a, pl.format("{} 同时是 {} 个在保家庭的成员（家庭 {}）", "name", "n", "households"),
             pl.format("households={}", "households"))
    ep = live.filter((pl.col("program") == "extreme_poverty") & pl.col("person_id").is_not_null()).select("person_id")
    dibao_hh = live.filter(pl.col("program") == "dibao").select("household_id").unique()
    both = inp.members.join(ep, on="person_id", how="semi").join(dibao_hh, on="household_id", how="semi")
    b = hits(both, pl.format("{} 享受特困供养，同时被计入低保家庭（家庭 {}）", "name", "household_id"),
             pl.format("extreme_poverty_and_dibao={}", "household_id"))
    return pl.concat([a, b, _probable_twins(inp.members.join(hh_enrolled, on="household_id", how="semi"))])


def _probable_twins(member_of: pl.DataFrame) -> pl.DataFrame:
    """Two registry persons in two enrolled households who are probably one person: the same name and birth date,
    and at least one of them without a valid ID number (blank IDs on duplicated enrolments). Two valid but
    different ID numbers are namesakes, not a duplicate."""
    valid = pl.col("id_number").fill_null("").str.contains(r"^\d{17}[\dXx]$")
    people = member_of.filter(pl.col("name").is_not_null() & pl.col("birth_date").is_not_null()).with_columns(
        valid=valid)
    keys = people.filter(pl.struct("name", "birth_date").is_duplicated()).select(
        "person_id", "household_id", "name", "birth_date", "valid")
    if keys.height == 0:
        return empty(HIT_SCHEMA)
    # Joined from the side without a valid ID (rare), both directions kept: each of the two is flagged.
    one = (keys.filter(~pl.col("valid")).join(keys, on=["name", "birth_date"], suffix="_other")
           .filter((pl.col("person_id") != pl.col("person_id_other"))
                   & (pl.col("household_id") != pl.col("household_id_other")))
           .select("person_id", "household_id", "person_id_other", "household_id_other"))
    if one.height == 0:
        return empty(HIT_SCHEMA)
    pairs = pl.concat([one, one.select(person_id="person_id_other", household_id="household_id_other",
                                       person_id_other="person_id", household_id_other="household_id")]).unique()
    per = pairs.group_by("person_id", "household_id").agg(
        others=pl.col("household_id_other").unique().sort().cast(pl.String).str.join("、"))
    rows = per.join(people.drop("valid"), on=["person_id", "household_id"])
    return hits(rows, pl.format("{}（出生 {}）疑似与家庭 {} 中的同名同出生日期人员为同一人（身份证号缺失或无效），"
                                "可能重复享受", "name", "birth_date", "others"),
                pl.format("probable_same_person_in={}", "others"))


def multi_agency(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """More temporary-aid grants to one household within 12 months than the pack allows."""
    limit = int(p["monitoring.multi_agency.max_temporary_grants"])
    since = shift_months(on, -12)
    many = (inp.grants.filter((pl.col("granted_on") > since) & (pl.col("granted_on") <= on))
            .group_by("household_id").agg(n=pl.len(), total=pl.col("amount").sum()).filter(pl.col("n") > limit))
    rows = many.join(inp.members.select("household_id", "area_code").unique("household_id"), on="household_id")
    return hits(rows, pl.format("12 个月内获临时救助 {} 次（合计 {} 元），超过 {} 次", "n", yuan(pl.col("total")),
                                pl.lit(limit)), pl.format("grants={};total={}", "n", yuan(pl.col("total"))))


def missed(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """The registry assessment finds a household eligible for a program it is neither enrolled in nor refused."""
    programs = ["dibao", "dibao_marginal", "extreme_poverty", "rigid_expense_hardship"]
    live = inp.enrollments.filter(pl.col("status").is_in(LIVE)).select("household_id", "program")
    found = (inp.decisions.filter(pl.col("eligible") & pl.col("program").is_in(programs))
             .join(live, on=["household_id", "program"], how="anti")
             .join(inp.refusals, on=["household_id", "program"], how="anti"))
    if found.height == 0:
        return empty(HIT_SCHEMA)
    per = (found.with_columns(label=_label(PROGRAM_LABEL, "program")).sort("program")
           .group_by("household_id").agg(labels=pl.col("label").str.join("、"), keys=pl.col("program").str.join(",")))
    rows = per.join(inp.members.select("household_id", "area_code").unique("household_id"), on="household_id")
    return hits(rows, pl.format("测算符合 {} 条件，但未纳入、也无不予认定记录", "labels"),
                pl.format("programs={}", "keys"))


def review_overdue(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """Periodic reviews past due, and 渐退 periods ending within the notice days."""
    notice = on + timedelta(days=int(p["monitoring.gradual_exit.notice_days"]))
    e = inp.enrollments.filter(pl.col("status").is_in(LIVE))
    overdue = e.filter(pl.col("next_review_on") < on)
    ending = e.filter((pl.col("status") == "gradual_exit") & (pl.col("gradual_exit_until") <= notice))
    a = hits(overdue.drop("person_id"), pl.format("{} 定期核查应于 {} 完成，已逾期", _label(PROGRAM_LABEL, "program"),
                                                  "next_review_on"),
             pl.format("next_review_on={}", "next_review_on"))
    b = hits(ending.drop("person_id"), pl.format("{} 渐退期至 {} 届满，需决定是否停发",
                                                 _label(PROGRAM_LABEL, "program"), "gradual_exit_until"),
             pl.format("gradual_exit_until={}", "gradual_exit_until"))
    return pl.concat([a, b])


def care_reassessment(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """A large medical settlement or a disability change for a 分散供养 特困 person: re-assess self-care."""
    ep = inp.enrollments.filter(pl.col("status").is_in(LIVE) & (pl.col("program") == "extreme_poverty"))
    people = inp.members.filter(pl.col("support_mode") == "dispersed").join(
        ep.select("household_id").unique(), on="household_id", how="semi")
    line = float(p["monitoring.care.medical_min_yuan"])
    rows = pl.concat([_rows(inp, "medical").filter(pl.col("amount") >= line),
                      _rows(inp, "disability")])
    return feed_hits(rows, people, pl.format("分散供养特困人员 {} {}（{}），需在规定时限内重新评估生活自理能力", "name",
                                             pl.when(pl.col("source_key") == "medical").then(
                                                 pl.format("医疗自付 {} 元", yuan(pl.col("amount"))))
                                             .otherwise(pl.format("残疾等级变为 {} 级", "grade")), "event_date"),
                     pl.format("source={};date={}", "source_key", "event_date"))


def assessment_change(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """Continuous-monitoring exit (江门): an enrolled household's current assessment differs from its enrollment."""
    live = inp.enrollments.filter(pl.col("status").is_in(["active", "gradual_exit"])
                                  & pl.col("program").is_in(["dibao", "extreme_poverty"]))
    cur = inp.decisions.select("household_id", "program", "eligible", new_amount="monthly_amount")
    per = (live.group_by("household_id", "program").agg(amount=pl.col("monthly_amount").sum(),
                                                        area_code=pl.col("area_code").first())
           .join(cur, on=["household_id", "program"]))
    changed = per.filter(~pl.col("eligible") | ((pl.col("new_amount") - pl.col("amount")).abs() >= 1))
    proposal = (pl.when(~pl.col("eligible")).then(pl.lit("已不符合条件，建议渐退或终止"))
                .when(pl.col("new_amount") > pl.col("amount")).then(pl.lit("建议增发"))
                .otherwise(pl.lit("建议减发")))
    return hits(changed, pl.format("{}：在保金额 {} 元/月，按最新数据测算 {} 元/月，{}",
                                   _label(PROGRAM_LABEL, "program"),
                                   yuan(pl.col("amount")), yuan(pl.col("new_amount").fill_null(0)), proposal),
                pl.format("program={};amount={};assessed={}", "program", yuan(pl.col("amount")),
                          yuan(pl.col("new_amount").fill_null(0))))


def double_payer(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """多头 (one need, two payers): one person (or household) paid the same month by two programs that cover the
    same need, or 支出型 temporary aid above the out-of-pocket medical cost the 医保 feed reports for the
    household over the window (the part the medical fund paid was paid again)."""
    return pl.concat([_same_need(inp, p, on), _aid_above_cost(inp, p, on)])


def _same_need(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    live = inp.enrollments.filter(pl.col("status").is_in(LIVE) & (pl.col("start_month") <= on))
    parts = []
    for a, b in p["monitoring.double_payer.same_need"]:  # a few pairs from the pack, each one join over everyone
        left = live.filter(pl.col("program") == a).select("household_id", "area_code", pa="person_id")
        right = live.filter(pl.col("program") == b).select("household_id", pb="person_id")
        parts.append(left.join(right, on="household_id")
                     .filter(pl.col("pa").is_null() | pl.col("pb").is_null() | (pl.col("pa") == pl.col("pb")))
                     .select("household_id", "area_code", person_id=pl.coalesce("pa", "pb"), a=pl.lit(a),
                             b=pl.lit(b)))
    if not parts:
        return empty(HIT_SCHEMA)
    pairs = pl.concat(parts).unique()
    # Names joined to the few pairs found, never the whole member frame deduplicated.
    names = inp.members.join(pairs.select("person_id"), on="person_id", how="semi").select(
        "person_id", "name", "id_number").unique("person_id", keep="first")
    pairs = pairs.join(names, on="person_id", how="left")
    return hits(pairs, pl.format("{}{}与{}同月保障同一基本生活需求，不应同时享受", pl.col("name").fill_null(""),
                                 _label(PROGRAM_LABEL, "a"), _label(PROGRAM_LABEL, "b")),
                pl.format("same_need={}+{};person={}", "a", "b", pl.col("person_id").fill_null(0)))


def _aid_above_cost(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    months = int(p["monitoring.medical.window_months"])
    since = shift_months(on, -months)
    aid = (inp.grants.filter(pl.col("kind").is_in(list(p["monitoring.double_payer.grant_kinds"]))
                             & (pl.col("granted_on") > since) & (pl.col("granted_on") <= on))
           .group_by("household_id").agg(aid=pl.col("amount").sum()))
    if aid.height == 0:
        return empty(HIT_SCHEMA)
    # Only members of households that received such aid (few) are joined to the medical rows.
    members = inp.members.join(aid.select("household_id"), on="household_id", how="semi").select(
        "person_id", "household_id", "area_code").unique("person_id", keep="first")
    rows = (_rows(inp, "medical").join(members.select("person_id"), on="person_id", how="semi")
            .filter((pl.col("event_date") > since) & (pl.col("event_date") <= on))
            .drop("area_code", "id_number", "name").join(members, on="person_id"))
    cost = rows.group_by("household_id").agg(oop=pl.col("amount").sum()).join(aid, on="household_id").filter(
        pl.col("aid") > pl.col("oop"))
    paid = rows.join(cost, on="household_id").select(*HIT_COLUMNS[:2], *HIT_COLUMNS[4:], "aid", "oop")
    return hits(paid, pl.format("{} 个月内支出型临时救助 {} 元，超过同期医保结算个人负担 {} 元：医保基金已支付的"
                                "费用可能被再次救助", pl.lit(months), yuan(pl.col("aid")), yuan(pl.col("oop"))),
                pl.format("aid={};out_of_pocket={}", yuan(pl.col("aid")), yuan(pl.col("oop"))))


def _signed(expr: pl.Expr) -> pl.Expr:
    """A money column that may be negative, as text with two decimals."""
    return pl.when(expr < 0).then(pl.lit("-") + yuan(-expr)).otherwise(yuan(expr))


def rising_expense(inp: Inputs, p: Mapping[str, Any], on: date) -> pl.DataFrame:
    """遗漏 (支出型贫困): a 低保边缘 household whose rigid expenses of the last N months exceed those of the N months
    before, and whose per-capita income net of the window's rigid expenses is below the 低保 standard."""
    n, window = int(p["monitoring.rising_expense.compare_months"]), int(p["monitoring.rising_expense.window_months"])
    this_month = on.replace(day=1)
    recent_from, before_from = shift_months(this_month, -n), shift_months(this_month, -2 * n)
    marginal = inp.enrollments.filter(pl.col("status").is_in(LIVE) & (pl.col("program") == "dibao_marginal"))
    # Complete months only: the month of `on` is still being reported.
    spent = (inp.expenses.filter(pl.col("kind").is_in(list(p["monitoring.rising_expense.kinds"]))
                                 & (pl.col("month") >= shift_months(this_month, -window))
                                 & (pl.col("month") < this_month))
             .join(marginal.select("household_id").unique(), on="household_id", how="semi"))
    per = (spent.group_by("household_id").agg(
        rigid=pl.col("amount").sum(),
        recent=pl.col("amount").filter(pl.col("month") >= recent_from).sum(),
        before=pl.col("amount").filter((pl.col("month") >= before_from) & (pl.col("month") < recent_from)).sum())
        .filter(pl.col("recent") > pl.col("before"))
        .join(households(inp, on).filter(pl.col("size") > 0), on="household_id")
        .join(inp.incomes, on="household_id")
        .with_columns(county=pl.col("area_code").str.slice(0, 6))
        .join(inp.standards, on="county")
        .with_columns(net=(pl.col("annual_income") - pl.col("rigid")) / 12 / pl.col("size"),
                      standard=pl.when(pl.col("hukou_type") == "urban").then("urban").otherwise("rural"))
        .filter(pl.col("net") < pl.col("standard")))
    return hits(per, pl.format("低保边缘家庭近 {} 个月刚性支出 {} 元，高于此前 {} 个月的 {} 元；"
                               "扣除 {} 个月刚性支出 {} 元后家庭月人均收入 {} 元，低于低保标准 {} 元，"
                               "可能符合低保（支出型）条件",
                               pl.lit(n), yuan(pl.col("recent")), pl.lit(n), yuan(pl.col("before")), pl.lit(window),
                               yuan(pl.col("rigid")), _signed(pl.col("net")), yuan(pl.col("standard"))),
                pl.format("recent={};before={};rigid={};net_per_capita={};standard={}", yuan(pl.col("recent")),
                          yuan(pl.col("before")), yuan(pl.col("rigid")), _signed(pl.col("net")),
                          yuan(pl.col("standard"))))


RULES: dict[str, Rule] = {
    "death": death, "hukou_cancelled": hukou_cancelled, "income_rise": income_rise, "real_estate": real_estate,
    "vehicle": vehicle, "business": business, "bank_balance": bank_balance, "new_employment": new_employment,
    "unemployment": unemployment, "medical_cost": medical_cost, "severe_disability": severe_disability,
    "school_enrolment": school_enrolment, "age_transition": age_transition, "supporter_lost": supporter_lost,
    "duplicate": duplicate, "multi_agency": multi_agency, "missed": missed, "review_overdue": review_overdue,
    "care_reassessment": care_reassessment, "assessment_change": assessment_change, "double_payer": double_payer,
    "rising_expense": rising_expense,
}
