"""Price subsidies (价格临时补贴联动机制): CPI import, the trigger from the pack, and the subsidy roll paid in the
month the index is published, to the recipient groups the pack names in force that month."""

from __future__ import annotations

import csv
import io
from datetime import date

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import under
from doudi.cases.models import Enrollment
from doudi.core.dates import month_start
from doudi.core.errors import FieldError, ValidationFailed
from doudi.db.frames import read_frame, read_frame_in, write_frame
from doudi.payments import rules, service
from doudi.payments.models import CpiFigure, LineStatus, PaymentLine, PaymentRoll, RollStatus, SubsidyShare
from doudi.policy.params import load_pack
from doudi.registry.models import Household, Membership, Person

PROGRAM = "price_subsidy"
CPI_COLUMNS = ("地区", "月份", "发布日期", "CPI同比", "食品CPI同比")


def city_of(county: str) -> str:
    """The prefecture-level city whose index starts the mechanism (设区市)."""
    return county[:4] + "00"


def import_cpi(session: Session, *, actor: Actor, data: bytes) -> tuple[int, list[str]]:
    """Import CPI rows (地区, 月份 YYYY-MM, 发布日期, CPI同比 %, 食品CPI同比 %); good rows are kept, bad rows
    listed with their row number; a month imported again is corrected in place."""
    actor.require("payment.prepare")
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not set(CPI_COLUMNS) <= set(reader.fieldnames):
        raise ValidationFailed([FieldError("file", f"价格指数文件须有列：{'、'.join(CPI_COLUMNS)}", row=1)])
    errors, n = [], 0
    for i, rec in enumerate(reader, start=2):
        try:
            region = (rec["地区"] or "").strip()
            if not (region.isdigit() and len(region) == 6):
                raise ValueError(f"地区代码 {region!r} 应为 6 位数字")
            month = service.parse_month(rec["月份"] or "")
            published = date.fromisoformat((rec["发布日期"] or "").strip())
            cpi, food = float(rec["CPI同比"]), float(rec["食品CPI同比"])
        except ValidationFailed as exc:
            errors.append(f"第 {i} 行：{exc}")
            continue
        except (ValueError, TypeError) as exc:
            msg = str(exc) if "应为" in str(exc) else "发布日期或涨幅格式不正确"
            errors.append(f"第 {i} 行：{msg}")
            continue
        row = session.scalar(select(CpiFigure).where(CpiFigure.region == region, CpiFigure.month == month))
        if row is None:
            session.add(CpiFigure(region=region, month=month, published_on=published, cpi_yoy=cpi, food_cpi_yoy=food))
        else:
            row.published_on, row.cpi_yoy, row.food_cpi_yoy = published, cpi, food
        n += 1
    audit.record(session, actor=actor, action="payment.cpi_import", object_type="payment_cpi",
                 after={"rows": n, "errors": len(errors)})
    return n, errors


def _recipients(session: Session, *, county: str, programs: list[str], month: date) -> pl.DataFrame:
    """One row per person counted for the month: a household enrollment counts its living members, a personal
    enrollment its person. Columns: enrollment_id, household_id, person_id (the payee's, null for a household),
    member_id (the person counted), area_code, program, hukou_type."""
    stmt = under(select(Enrollment.id.label("enrollment_id"), Enrollment.household_id, Enrollment.person_id,
                        Enrollment.area_code, Enrollment.program, Enrollment.status, Enrollment.start_month,
                        Enrollment.end_month, Person.date_of_death, Household.hukou_type)
                 .outerjoin(Person, Person.id == Enrollment.person_id)
                 .join(Household, Household.id == Enrollment.household_id), Enrollment.area_code, county).where(
        Enrollment.program.in_(programs))
    grid = rules.entitled(read_frame(session, stmt), [month])
    households = grid.filter(pl.col("person_id").is_null())["household_id"].unique().to_list()
    members = read_frame_in(session, select(Membership.household_id, Membership.person_id.label("member_id"))
                            .join(Person, Person.id == Membership.person_id).where(
        Membership.valid_to.is_(None), Membership.exclusion.is_(None),
        Person.date_of_death.is_(None) | (Person.date_of_death >= month)),
        Membership.__table__.c.household_id, households) if households else pl.DataFrame(
        schema={"household_id": pl.Int64, "member_id": pl.Int64})
    personal = grid.filter(pl.col("person_id").is_not_null()).with_columns(member_id=pl.col("person_id"))
    whole = grid.filter(pl.col("person_id").is_null()).join(members, on="household_id", how="inner")
    cols = ["enrollment_id", "household_id", "person_id", "member_id", "area_code", "program", "hukou_type"]
    return pl.concat([personal.select(cols), whole.select(cols)])


def once_per_person(counted: pl.DataFrame, *, groups: list[str], already: pl.DataFrame) -> pl.DataFrame:
    """Each person counted once in a month (pure): the group listed first in the pack wins, then the oldest
    enrollment; persons already paid a subsidy for the month (`already`: member_id) are left out."""
    rank = {g: i for i, g in enumerate(groups)}
    out = counted.with_columns(_rank=pl.col("program").replace_strict(rank, default=len(groups),
                                                                      return_dtype=pl.Int64))
    out = out.sort("_rank", "enrollment_id").unique("member_id", keep="first", maintain_order=True).drop("_rank")
    if not already.is_empty():
        out = out.join(already, on="member_id", how="anti")
    return out


def generate_subsidy_roll(session: Session, *, actor: Actor, county: str, month: date,
                          today: date) -> tuple[PaymentRoll | None, str]:
    """The subsidy roll of a month (the month the index is published), or None and the reason it does not
    start. Each recipient household or person gets standard × CPI rise × rate per person."""
    actor.require("payment.prepare")
    month = month_start(month)
    pack = load_pack(county)
    fig = session.scalar(select(CpiFigure).where(CpiFigure.region == city_of(county),
                                                 func.extract("year", CpiFigure.published_on) == month.year,
                                                 func.extract("month", CpiFigure.published_on) == month.month)
                         .order_by(CpiFigure.month.desc()))
    if fig is None:
        return None, f"{city_of(county)} 未导入 {month:%Y-%m} 发布的价格指数"
    cpi_t = float(pack.value("price_subsidy.trigger.cpi_yoy", on=month))
    food_t = float(pack.value("price_subsidy.trigger.food_cpi_yoy", on=month))
    if not rules.subsidy_triggered(cpi_yoy=fig.cpi_yoy, food_cpi_yoy=fig.food_cpi_yoy, cpi_trigger=cpi_t,
                                   food_trigger=food_t):
        return None, (f"{fig.month:%Y-%m} CPI 同比 {fig.cpi_yoy}%（启动条件 {cpi_t}%）、食品 {fig.food_cpi_yoy}%"
                      f"（{food_t}%），未达到启动条件")
    existing = session.scalar(select(PaymentRoll).where(PaymentRoll.area_code == county, PaymentRoll.month == month,
                                                        PaymentRoll.program == PROGRAM))
    if existing is not None:
        return existing, "该月补贴花名册已生成"
    groups = list(pack.value("price_subsidy.groups", on=month) or [])
    rate = float(pack.value("price_subsidy.amount_rate", on=month))
    minimum = float(pack.value("price_subsidy.minimum", on=month))
    rise = max(fig.cpi_yoy, 0.0)
    per = {h: rules.subsidy_fen(float(pack.value(f"dibao.standard.{h}", on=month)), rise, rate, minimum)
           for h in ("urban", "rural")}
    roll = PaymentRoll(area_code=county, month=month, program=PROGRAM, status=RollStatus.DRAFT, version=1,
                       pack_version=pack.version[:40], prepared_by=actor.user_id, prepared_by_name=actor.username)
    session.add(roll)
    session.flush()
    counted = _recipients(session, county=county, programs=groups, month=month)
    already = read_frame(session, select(SubsidyShare.person_id.label("member_id")).where(SubsidyShare.month == month))
    counted = once_per_person(counted, groups=groups, already=already)
    heads = service._payee_frame(session, county=county)
    accounts = service._account_frame(session, county=county)
    if not counted.is_empty():
        counted = counted.with_columns(payee_key=pl.when(pl.col("person_id").is_not_null())
                                       .then(pl.format("P{}", pl.col("person_id")))
                                       .otherwise(pl.format("H{}", pl.col("household_id"))))
        # One line per payee: its counted persons × the unit of its hukou; the payee's first enrollment explains it.
        grid = counted.sort("enrollment_id").group_by("payee_key", maintain_order=True).agg(
            pl.first("enrollment_id", "household_id", "person_id", "area_code", "program", "hukou_type"),
            persons=pl.len()).with_columns(unit=pl.col("hukou_type").replace_strict(per, return_dtype=pl.Int64))
        grid = grid.with_columns(amount_fen=pl.col("unit") * pl.col("persons"))
        persons = read_frame(session, select(Person.id.label("person_id"), Person.name.label("p_name"),
                                             Person.id_number.label("p_id")).where(
            Person.id.in_(grid["person_id"].drop_nulls().to_list() or [-1])))
        grid = grid.join(heads, on="household_id", how="left").join(persons, on="person_id", how="left")
        grid = grid.join(accounts.drop("holder_name"), on="payee_key", how="left") if not accounts.is_empty() \
            else grid.with_columns(bank_name=pl.lit(None, pl.String), account_no=pl.lit(None, pl.String))
        lines = grid.sort("payee_key").with_row_index("n", offset=1).select(
            pl.lit(roll.id).alias("roll_id"), "payee_key", pl.lit(PROGRAM).alias("program"),
            pl.lit("subsidy").alias("component"), pl.lit("subsidy").alias("covers"),
            pl.lit(month).alias("entitlement_month"), "amount_fen", "area_code", "household_id", "person_id",
            "enrollment_id", pl.coalesce("p_name", "head_name").fill_null("").alias("payee_name"),
            pl.coalesce("p_id", "head_id_number").fill_null("").alias("id_number"),
            pl.col("bank_name").fill_null(""), pl.col("account_no").fill_null(""),
            pl.format("{} 月 CPI 同比 {}% ≥ {}%：{} 元/人 × {} 人（{}，发改价格〔2021〕1553号）",
                      pl.lit(f"{fig.month:%Y-%m}"), pl.lit(fig.cpi_yoy), pl.lit(cpi_t),
                      (pl.col("unit") / 100).round(2), pl.col("persons"), pl.col("program")).alias("rule"),
            service.line_refs(roll.id).alias("end_to_end_id"),
            pl.when(pl.col("account_no").fill_null("") == "").then(pl.lit(LineStatus.NO_ACCOUNT.value))
            .otherwise(pl.lit(LineStatus.PENDING.value)).alias("status"))
        write_frame(session, PaymentLine, lines)
        ids = read_frame(session, select(PaymentLine.id.label("line_id"), PaymentLine.payee_key)
                         .where(PaymentLine.roll_id == roll.id))
        # The persons behind each line: the unique (person, month) refuses a second subsidy in the database.
        write_frame(session, SubsidyShare, counted.join(ids, on="payee_key").select(
            "line_id", pl.col("member_id").alias("person_id"), pl.lit(month).alias("month"),
            pl.col("program").alias("via_program")))
        roll.line_count, roll.total_fen = lines.height, int(lines["amount_fen"].sum())
    deadline = month.replace(day=int(pack.value("price_subsidy.deadline_day", on=month)))
    late = f"；已超过 {deadline} 的生成期限" if today > deadline else ""
    audit.record(session, actor=actor, action="payment.subsidy_roll", object_type="payment_roll", object_id=roll.id,
                 area_code=county, after={"month": f"{month:%Y-%m}", "cpi": fig.cpi_yoy, "lines": roll.line_count,
                                          "total": service.yuan(roll.total_fen)})
    return roll, f"{fig.month:%Y-%m} CPI 同比 {fig.cpi_yoy}% 达到 {cpi_t}% 启动条件{late}"
