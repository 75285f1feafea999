"""Payment rolls: generation from the enrollments in force (on frames), maker-checker approval, re-issues,
payee accounts with a second person's confirmation. Functions never commit; every query is scoped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import get_in_area, in_area, in_area_or_above, under
from doudi.cases.models import Enrollment, EnrollmentChange
from doudi.core.dates import month_start
from doudi.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from doudi.db.frames import read_frame, write_frame
from doudi.db.versions import add_unique, claim
from doudi.payments import payables, rules
from doudi.payments.models import (
    AccountStatus,
    Component,
    LineStatus,
    PayeeAccount,
    PaymentLine,
    PaymentRoll,
    RollStatus,
)
from doudi.policy.params import load_pack
from doudi.registry.models import Household, Membership, Person

STATUS_LABELS: dict[str, str] = {RollStatus.DRAFT: "待审核", RollStatus.APPROVED: "已审核",
                                 RollStatus.SENT: "已报送银行", RollStatus.RECONCILED: "已对账"}
LINE_LABELS: dict[str, str] = {LineStatus.PENDING: "待银行回盘", LineStatus.PAID: "已到账",
                               LineStatus.REJECTED: "银行拒绝", LineStatus.RETURNED: "退回/冲正",
                               LineStatus.NO_ACCOUNT: "无有效账户（暂缓）"}
COMPONENT_LABELS: dict[str, str] = {Component.BASIC: "基本生活", Component.CARE: "照料护理", Component.BACK_PAY: "补发",
                    Component.SUBSIDY: "价格临时补贴", Component.PROVIDER_PAYABLE: "服务机构结算",
                    Component.ONE_OFF: "一次性救助"}
CARE_KEYS = {"self_care": "extreme_poverty.care_standard.self_care",
             "partial": "extreme_poverty.care_standard.partial", "full": "extreme_poverty.care_standard.full"}
PAY_STATUSES = ("active", "gradual_exit", "terminated")


# A roll's lines are written in the order of the once-only key, and numbered in that order with a fixed-width
# reference: both unique indexes then take a million lines as appends to a few hot pages rather than as random
# inserts all over them (PostgreSQL's time for the write falls by about 40%).
WRITE_ORDER = ["program", "entitlement_month", "covers", "payee_key"]
REF_DIGITS = 7


def line_refs(roll_id: int) -> pl.Expr:
    """The bank reference (EndToEndId) of each line of a roll, from its 1-based position `n` in write order."""
    return pl.format("DD{}-{}", pl.lit(roll_id), pl.col("n").cast(pl.String).str.zfill(REF_DIGITS))


def parse_month(text: str, field: str = "month") -> date:
    """'YYYY-MM' as the first day of that month, or a Chinese field error."""
    try:
        y, m = text.strip().split("-")
        return date(int(y), int(m), 1)
    except (ValueError, AttributeError):
        raise ValidationFailed([FieldError(field, f"月份格式应为 YYYY-MM：{text!r}")]) from None


def yuan(fen: int | None) -> str:
    """Integer fen as a yuan string with two decimals."""
    fen = int(fen or 0)
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def scoped_rolls(stmt: Select[Any], actor: Actor) -> Select[Any]:
    """Rolls an actor may see: a county roll is visible to its county and to the townships inside it."""
    return in_area_or_above(stmt, PaymentRoll.area_code, actor)


def get_roll(session: Session, *, actor: Actor, roll_id: int) -> PaymentRoll:
    """A roll the actor may see, or NotFound."""
    actor.require("payment.read")
    roll: PaymentRoll | None = session.scalar(scoped_rolls(select(PaymentRoll), actor).where(PaymentRoll.id == roll_id))
    if roll is None:
        raise NotFound(f"发放花名册 {roll_id}")
    return roll


def scoped_lines(stmt: Select[Any], actor: Actor) -> Select[Any]:
    """Lines limited to the actor's area (a township sees its own people on a county roll)."""
    return in_area(stmt, PaymentLine.area_code, actor)


@dataclass(frozen=True)
class RollFilter:
    """The rolls list's filters."""

    month: date | None = None
    program: str = ""
    status: str = ""


def list_rolls(session: Session, *, actor: Actor, f: RollFilter, page: int = 1,
               per_page: int = 20) -> tuple[list[PaymentRoll], int]:
    """Rolls in the actor's scope, newest month first, one page."""
    actor.require("payment.read")
    stmt = scoped_rolls(select(PaymentRoll), actor)
    if f.month:
        stmt = stmt.where(PaymentRoll.month == f.month)
    if f.program:
        stmt = stmt.where(PaymentRoll.program == f.program)
    if f.status:
        stmt = stmt.where(PaymentRoll.status == f.status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(PaymentRoll.month.desc(), PaymentRoll.program, PaymentRoll.id)
                           .offset((page - 1) * per_page).limit(per_page))
    return list(rows), int(total)


def _check_county(actor: Actor, county: str) -> None:
    if len(county) != 6 or not county.isdigit():
        raise ValidationFailed([FieldError("area", f"须为 6 位县级区划代码：{county!r}")])
    if not actor.sees(county):
        raise PermissionDenied(f"{actor.username} 不能为 {county} 编制花名册")


def _enrollment_frame(session: Session, *, county: str, program: str, first: date, last: date) -> pl.DataFrame:
    stmt = under(select(
        Enrollment.id.label("enrollment_id"), Enrollment.household_id, Enrollment.person_id,
        Enrollment.area_code, Enrollment.program, Enrollment.status, Enrollment.monthly_amount,
        Enrollment.level, Enrollment.start_month, Enrollment.end_month, Enrollment.gradual_exit_until,
        Person.date_of_death,
    ).outerjoin(Person, Person.id == Enrollment.person_id), Enrollment.area_code, county).where(
        Enrollment.program == program, Enrollment.status.in_((*PAY_STATUSES, "suspended")),
        Enrollment.start_month <= last,
        (Enrollment.end_month.is_(None)) | (Enrollment.end_month > first))
    return read_frame(session, stmt)


def _change_frame(session: Session, *, county: str, program: str) -> pl.DataFrame:
    stmt = under(select(
        EnrollmentChange.enrollment_id, EnrollmentChange.effective_month, EnrollmentChange.old_amount,
        EnrollmentChange.new_amount, EnrollmentChange.old_level, EnrollmentChange.new_level,
    ).join(Enrollment, Enrollment.id == EnrollmentChange.enrollment_id), Enrollment.area_code, county).where(
        Enrollment.program == program, EnrollmentChange.status == "effective",
        EnrollmentChange.kind.in_(["increase", "decrease", "level"]))
    return read_frame(session, stmt)


def _payee_frame(session: Session, *, county: str) -> pl.DataFrame:
    """Household heads (payee of a household program): household id → person."""
    stmt = under(select(Membership.household_id, Person.name.label("head_name"),
                        Person.id_number.label("head_id_number"))
                 .join(Person, Person.id == Membership.person_id)
                 .join(Household, Household.id == Membership.household_id),
                 Household.area_code, county).where(Membership.relation == "head", Membership.valid_to.is_(None))
    return read_frame(session, stmt).unique("household_id", keep="first")


def _person_frame(session: Session, *, county: str, program: str) -> pl.DataFrame:
    stmt = under(select(Person.id.label("person_id"), Person.name.label("p_name"),
                        Person.id_number.label("p_id_number"))
                 .join(Enrollment, Enrollment.person_id == Person.id), Enrollment.area_code, county).where(
        Enrollment.program == program).distinct()
    return read_frame(session, stmt)


def _account_frame(session: Session, *, county: str) -> pl.DataFrame:
    stmt = under(select(PayeeAccount.payee_key, PayeeAccount.bank_name, PayeeAccount.account_no,
                        PayeeAccount.holder_name), PayeeAccount.area_code, county).where(
        PayeeAccount.status == AccountStatus.CONFIRMED)
    return read_frame(session, stmt)


def _paid_keys(session: Session, *, county: str, program: str, months: list[date]) -> pl.DataFrame:
    stmt = under(select(PaymentLine.payee_key, PaymentLine.entitlement_month.label("month")),
                 PaymentLine.area_code, county).where(PaymentLine.program == program,
                                                      PaymentLine.entitlement_month.in_(months)).distinct()
    return read_frame(session, stmt)


def build_lines(*, enrollments: pl.DataFrame, changes: pl.DataFrame, heads: pl.DataFrame, persons: pl.DataFrame,
                accounts: pl.DataFrame, paid: pl.DataFrame, month: date, back_months: int,
                care_fen: dict[str, int]) -> pl.DataFrame:
    """The roll's lines as a frame (pure): entitled months, amounts in force, split into components, the
    months already paid removed, payees and their confirmed accounts joined."""
    months = rules.months_back(month, back_months)
    grid = rules.entitled(enrollments, months)
    if grid.is_empty():
        return pl.DataFrame()
    grid = rules.in_force(grid, changes)
    grid = rules.split_care(grid, care_fen)
    grid = grid.with_columns(payee_key=pl.when(pl.col("person_id").is_not_null())
                             .then(pl.format("P{}", pl.col("person_id")))
                             .otherwise(pl.format("H{}", pl.col("household_id"))))
    # A month already on a roll (paid, pending or awaiting re-issue) is never put on another one.
    if not paid.is_empty():
        grid = grid.join(paid, on=["payee_key", "month"], how="anti")
    # Earlier months are back pay only where the first paid month came late: no month after them was paid.
    back = pl.col("month") < month
    parts = []
    for covers, fen_col in ((Component.BASIC, "basic_fen"), (Component.CARE, "care_fen")):
        parts.append(grid.filter(pl.col(fen_col) > 0).with_columns(
            covers=pl.lit(covers.value), amount_fen=pl.col(fen_col),
            component=pl.when(back).then(pl.lit(Component.BACK_PAY.value)).otherwise(pl.lit(covers.value))))
    lines = pl.concat(parts)
    lines = lines.join(heads, on="household_id", how="left").join(persons, on="person_id", how="left")
    lines = lines.with_columns(
        payee_name=pl.coalesce("p_name", "head_name").fill_null(""),
        id_number=pl.coalesce("p_id_number", "head_id_number").fill_null(""))
    if accounts.is_empty():
        lines = lines.with_columns(bank_name=pl.lit(""), account_no=pl.lit(""))
    else:
        lines = lines.join(accounts.drop("holder_name"), on="payee_key", how="left").with_columns(
            pl.col("bank_name").fill_null(""), pl.col("account_no").fill_null(""))
    ym = pl.col("month").dt.strftime("%Y-%m")
    fen = rules.yuan_to_fen(pl.col("amount"))
    amount = pl.format("{}.{}", fen // 100, (fen % 100).cast(pl.String).str.zfill(2))
    what = (pl.when(pl.col("covers") == "care")
            .then(pl.format("照料护理标准（{}）", pl.col("level_in_force")))
            .otherwise(pl.when(pl.col("program") == "extreme_poverty")
                       .then(pl.lit("基本生活（月额减照料护理标准）")).otherwise(pl.lit("月保障金额"))))
    stage = (pl.when(pl.col("gradual_exit_until").is_not_null() & (pl.col("month") < pl.col("gradual_exit_until")))
             .then(pl.lit("；渐退期内照发")).otherwise(pl.lit("")))
    stop = pl.when(pl.col("end_month").is_not_null()).then(
        pl.format("；{} 起停发", pl.col("end_month").dt.strftime("%Y-%m"))).otherwise(pl.lit(""))
    back_note = pl.when(back).then(pl.lit("；首次发放迟延，补发该月")).otherwise(pl.lit(""))
    changed = pl.when(pl.col("changed")).then(pl.lit("（按调整后金额）")).otherwise(pl.lit(""))
    lines = lines.with_columns(rule=pl.format("保障记录 #{}，{} 月：月额 {} 元{}，{}{}{}{}", pl.col("enrollment_id"),
                                              ym, amount, changed, what, stage, stop, back_note))
    return lines.select(
        "payee_key", "program", "component", "covers", pl.col("month").alias("entitlement_month"), "amount_fen",
        "area_code", "household_id", "person_id", "enrollment_id", "payee_name", "id_number", "bank_name",
        "account_no", "rule",
    ).sort("area_code", "payee_key", "entitlement_month", "covers")


def _care_fen(county: str, month: date) -> dict[str, int]:
    pack = load_pack(county)
    return {level: round(float(pack.value(key, on=month) or 0) * 100) for level, key in CARE_KEYS.items()}


def _enrollment_lines(session: Session, *, county: str, month: date, program: str, back: int) -> pl.DataFrame:
    months = rules.months_back(month, back)
    return build_lines(
        enrollments=_enrollment_frame(session, county=county, program=program, first=months[0], last=month),
        changes=_change_frame(session, county=county, program=program),
        heads=_payee_frame(session, county=county), persons=_person_frame(session, county=county, program=program),
        accounts=_account_frame(session, county=county),
        paid=_paid_keys(session, county=county, program=program, months=months),
        month=month, back_months=back, care_fen=_care_fen(county, month))


def _provider_lines(session: Session, *, county: str, month: date, back: int) -> pl.DataFrame:
    """Lines of a provider roll: confirmed home-care settlements not yet paid (see payments.payables)."""
    due = payables.payable_frame(session, county=county, month=month, back_months=back)
    if due.is_empty():
        return pl.DataFrame()
    return payables.build_provider_lines(
        payables=due, minutes=payables.settlement_minutes(session, ids=due["settlement_id"].to_list()),
        accounts=_account_frame(session, county=county))


def generate_roll(session: Session, *, actor: Actor, county: str, month: date, program: str) -> PaymentRoll:
    """Freeze the roll of a county, month and program from the enrollments in force (idempotent: a roll
    already generated is returned as it is; two concurrent generations make one roll)."""
    actor.require("payment.prepare")
    _check_county(actor, county)
    month = month_start(month)
    pack = load_pack(county)
    paid_programs = list(pack.value("payments.paid_programs", on=month) or [])
    if program not in paid_programs and program != payables.PROGRAM:
        raise ValidationFailed([FieldError("program",
                                           f"{program!r} 不是按月发放的项目（可选：{', '.join(paid_programs)}）")])
    existing = session.scalar(select(PaymentRoll).where(PaymentRoll.area_code == county, PaymentRoll.month == month,
                                                        PaymentRoll.program == program))
    if existing is not None:
        return existing
    roll = PaymentRoll(area_code=county, month=month, program=program, status=RollStatus.DRAFT, version=1,
                       pack_version=pack.version[:40], prepared_by=actor.user_id, prepared_by_name=actor.username)
    add_unique(session, roll, message=f"{county} {month:%Y-%m} {program} 的花名册已由他人同时生成，请刷新")
    back = int(pack.value("payments.back_pay_max_months", on=month) or 0)
    if program == payables.PROGRAM:
        lines = _provider_lines(session, county=county, month=month, back=back)
    else:
        lines = _enrollment_lines(session, county=county, month=month, program=program, back=back)
    count, total = 0, 0
    # Two live enrollments paying one payee the same thing for the same month (重复 assistance, e.g. a migrated
    # ledger row beside a new decision) are paid once: the oldest enrollment's line; the others are held and named
    # in the audit entry for the township to close (monitoring's duplicate rule flags them too).
    key = ["payee_key", "program", "covers", "entitlement_month"]
    held_ids: list[int] = []
    if not lines.is_empty() and lines.select(pl.struct(key).is_duplicated().any()).item():
        ranked = lines.sort("enrollment_id").with_columns(pl.int_range(pl.len()).over(key).alias("_dup"))
        held_ids = sorted(int(e) for e in ranked.filter(pl.col("_dup") > 0)["enrollment_id"].unique())
        lines = ranked.filter(pl.col("_dup") == 0).drop("_dup").sort("area_code", "payee_key", "entitlement_month",
                                                                     "covers")
    if not lines.is_empty():
        lines = lines.sort(WRITE_ORDER).with_row_index("n", offset=1).with_columns(
            roll_id=pl.lit(roll.id), attempt=pl.lit(1), reason=pl.lit(""), end_to_end_id=line_refs(roll.id),
            status=pl.when(pl.col("account_no") == "").then(pl.lit(LineStatus.NO_ACCOUNT.value))
            .otherwise(pl.lit(LineStatus.PENDING.value))).drop("n")
        write_frame(session, PaymentLine, lines)
        count, total = lines.height, int(lines["amount_fen"].sum())
    moved = _reissue(session, county=county, program=program, roll=roll)
    roll.line_count, roll.total_fen = count + moved[0], total + moved[1]
    audit.record(session, actor=actor, action="payment.roll_generate", object_type="payment_roll",
                 object_id=roll.id, area_code=county,
                 after={"month": f"{month:%Y-%m}", "program": program, "lines": roll.line_count,
                        "held_duplicates": held_ids,
                        "total": yuan(roll.total_fen), "reissued": moved[0]})
    return roll


def _reissue(session: Session, *, county: str, program: str, roll: PaymentRoll) -> tuple[int, int]:
    """Lines the bank rejected or returned, or held for want of an account, move onto this roll once the payee
    has a confirmed account different from the one that failed: the line is replaced, never duplicated."""
    stmt = under(select(PaymentLine.id, PaymentLine.payee_key, PaymentLine.account_no.label("old_account"),
                        PaymentLine.attempt, PaymentLine.amount_fen), PaymentLine.area_code, county).where(
        PaymentLine.program == program,
        PaymentLine.status.in_([LineStatus.REJECTED, LineStatus.RETURNED, LineStatus.NO_ACCOUNT]),
        PaymentLine.roll_id != roll.id)
    held = read_frame(session, stmt)
    if held.is_empty():
        return 0, 0
    accounts = _account_frame(session, county=county)
    if accounts.is_empty():
        return 0, 0
    moved = held.join(accounts, on="payee_key", how="inner").filter(pl.col("account_no") != pl.col("old_account"))
    if moved.is_empty():
        return 0, 0
    moved = moved.with_columns(
        roll_id=pl.lit(roll.id), attempt=pl.col("attempt") + 1, status=pl.lit(LineStatus.PENDING.value),
        reason=pl.lit(""), end_to_end_id=pl.format("DD{}-R{}", pl.lit(roll.id), pl.col("id")),
    ).select("id", "roll_id", "attempt", "status", "reason", "end_to_end_id", "bank_name", "account_no", "amount_fen")
    write_frame(session, PaymentLine, moved.drop("amount_fen"), mode="update", match=["id"])
    return moved.height, int(moved["amount_fen"].sum())


def approve_roll(session: Session, *, actor: Actor, roll_id: int, version: int | None) -> PaymentRoll:
    """The checker approves a draft roll; the preparer cannot approve their own (maker-checker)."""
    actor.require("payment.approve")
    roll = get_roll(session, actor=actor, roll_id=roll_id)
    if not actor.system and not actor.sees(roll.area_code):
        raise PermissionDenied("花名册须由县级审核")
    if roll.prepared_by is not None and roll.prepared_by == actor.user_id:
        raise Conflict("制单人不能审核本人编制的花名册（须由另一人审核）")
    claim(session, roll, version, label="该花名册")
    if roll.status != RollStatus.DRAFT:
        raise Conflict(f"花名册当前状态为“{STATUS_LABELS[RollStatus(roll.status)]}”，不能再审核")
    roll.status = RollStatus.APPROVED
    roll.approved_by, roll.approved_by_name = actor.user_id, actor.username
    roll.approved_at = datetime.now(UTC)
    audit.record(session, actor=actor, action="payment.roll_approve", object_type="payment_roll", object_id=roll.id,
                 area_code=roll.area_code, before={"status": "draft"}, after={"status": "approved"})
    return roll


def roll_stats(session: Session, *, roll_id: int) -> dict[str, tuple[int, int]]:
    """Per line status: (count, fen) of a roll."""
    rows = session.execute(select(PaymentLine.status, func.count(), func.coalesce(func.sum(PaymentLine.amount_fen), 0))
                           .where(PaymentLine.roll_id == roll_id).group_by(PaymentLine.status))
    return {s: (int(c), int(t)) for s, c, t in rows}


def roll_lines(session: Session, *, actor: Actor, roll: PaymentRoll, q: str = "", status: str = "",
               page: int = 1, per_page: int = 50) -> tuple[list[PaymentLine], int]:
    """A roll's lines in the actor's area, one page; `q` searches the payee name."""
    stmt = scoped_lines(select(PaymentLine).where(PaymentLine.roll_id == roll.id), actor)
    if q:
        stmt = stmt.where(PaymentLine.payee_name.contains(q.strip()))
    if status:
        stmt = stmt.where(PaymentLine.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(PaymentLine.area_code, PaymentLine.payee_key, PaymentLine.id)
                           .offset((page - 1) * per_page).limit(per_page))
    return list(rows), int(total)


def rolls_to_approve(session: Session, *, actor: Actor) -> list[PaymentRoll]:
    """Draft rolls this actor may approve (not their own)."""
    if not actor.can("payment.approve"):
        return []
    stmt = scoped_rolls(select(PaymentRoll), actor).where(PaymentRoll.status == RollStatus.DRAFT)
    if actor.user_id is not None:
        stmt = stmt.where((PaymentRoll.prepared_by.is_(None)) | (PaymentRoll.prepared_by != actor.user_id))
    return list(session.scalars(stmt.order_by(PaymentRoll.month).limit(50)))


# --- payee accounts -------------------------------------------------------------------------------------------

def propose_account(session: Session, *, actor: Actor, payee_key: str, area_code: str, holder_name: str,
                    bank_name: str, account_no: str, social_security_card: bool = False) -> PayeeAccount:
    """Record a new or changed account; it is used only after a second person confirms it."""
    actor.require("payee_account.manage")
    errors = []
    if not (payee_key[:1] in {"P", "H", "O"} and payee_key[1:].isdigit()):
        errors.append(FieldError("payee_key", "收款人应为 P<人员编号>、H<家庭编号> 或 O<服务机构编号>"))
    if not holder_name.strip():
        errors.append(FieldError("holder_name", "须填写户名"))
    if not bank_name.strip():
        errors.append(FieldError("bank_name", "须填写开户行"))
    digits = account_no.replace(" ", "")
    if not (digits.isdigit() and 12 <= len(digits) <= 30):
        errors.append(FieldError("account_no", "账号应为 12 至 30 位数字"))
    if not actor.sees(area_code):
        errors.append(FieldError("area_code", "不在本人管辖区划内"))
    if errors:
        raise ValidationFailed(errors)
    acct = PayeeAccount(payee_key=payee_key, area_code=area_code, holder_name=holder_name.strip(),
                        bank_name=bank_name.strip(), account_no=digits, social_security_card=social_security_card,
                        status=AccountStatus.PENDING, created_by=actor.user_id, version=1)
    session.add(acct)
    session.flush()
    audit.record(session, actor=actor, action="payee_account.propose", object_type="payee_account",
                 object_id=acct.id, area_code=area_code,
                 after={"payee_key": payee_key, "bank_name": bank_name, "account_no": mask_account(digits)})
    return acct


def confirm_account(session: Session, *, actor: Actor, account_id: int, version: int | None = None,
                    today: date | None = None) -> PayeeAccount:
    """A second person confirms a pending account; the payee's previous account is replaced."""
    actor.require("payee_account.manage")
    acct = get_in_area(session, PayeeAccount, account_id, actor=actor, action=None, label="账户")
    if acct.created_by is not None and acct.created_by == actor.user_id:
        raise Conflict("账户变更须由另一人确认")
    claim(session, acct, version, label="该账户")
    if acct.status != AccountStatus.PENDING:
        raise Conflict("该账户已确认或已被替换")
    old = session.scalar(select(PayeeAccount).where(PayeeAccount.payee_key == acct.payee_key,
                                                    PayeeAccount.status == AccountStatus.CONFIRMED))
    if old is not None:
        claim(session, old, label="原账户")
        old.status = AccountStatus.REPLACED
        session.flush()  # the old one leaves the one-confirmed-account index before the new one enters it
    acct.status = AccountStatus.CONFIRMED
    acct.confirmed_by, acct.confirmed_at = actor.user_id, datetime.now(UTC)
    audit.record(session, actor=actor, action="payee_account.confirm", object_type="payee_account",
                 object_id=acct.id, area_code=acct.area_code,
                 before={"account_no": mask_account(old.account_no) if old else None},
                 after={"account_no": mask_account(acct.account_no)})
    return acct


def recent_account_changes(session: Session, *, county: str, before: date, days: int) -> set[str]:
    """Payees whose account was confirmed in the `days` days before `before` (flagged on the roll)."""
    since = datetime.combine(before - timedelta(days=days), datetime.min.time(), tzinfo=UTC)
    stmt = under(select(PayeeAccount.payee_key), PayeeAccount.area_code, county).where(
        and_(PayeeAccount.status == AccountStatus.CONFIRMED, PayeeAccount.confirmed_at >= since))
    return set(session.scalars(stmt))


def unmask_line_account(session: Session, *, actor: Actor, line_id: int, reason: str) -> str:
    """A payment line's full account number for a stated reason (e.g. a bank query about a failed payment);
    needs payee_account.unmask and the line in the actor's area; the reveal is audited with the reason."""
    actor.require("payee_account.unmask")
    if len(reason.strip()) < 2:
        raise ValidationFailed([FieldError("reason", "查看完整账号须说明用途（将记入审计日志）")])
    line = session.scalar(scoped_lines(select(PaymentLine), actor).where(PaymentLine.id == line_id))
    if line is None:
        raise NotFound(f"发放记录 {line_id}")
    audit.record(session, actor=actor, action="payee_account.unmask", object_type="payment_line", object_id=line.id,
                 area_code=line.area_code, extra={"reason": reason.strip()[:200], "payee_key": line.payee_key,
                                                  "account": mask_account(line.account_no)})
    return str(line.account_no)


def mask_account(number: str | None) -> str:
    """A bank account with only its first 4 and last 4 digits shown."""
    if not number:
        return ""
    return number[:4] + "*" * max(len(number) - 8, 0) + number[-4:] if len(number) > 8 else "*" * len(number)


def household_lines(session: Session, *, actor: Actor, household_id: int, limit: int = 36) -> list[PaymentLine]:
    """A household's payment lines in the actor's area, newest entitlement month first."""
    actor.require("payment.read")
    stmt = scoped_lines(select(PaymentLine).where(PaymentLine.household_id == household_id), actor)
    return list(session.scalars(stmt.order_by(PaymentLine.entitlement_month.desc(), PaymentLine.id.desc())
                                .limit(limit)))


def citizen_lines(session: Session, *, household_ids: list[int], limit: int = 60) -> list[PaymentLine]:
    """The payment lines of a citizen's own households (the portal decides which households are theirs), newest
    entitlement month first; read-only, accounts shown masked by the caller."""
    if not household_ids:
        return []
    stmt = select(PaymentLine).where(PaymentLine.household_id.in_(household_ids))
    return list(session.scalars(stmt.order_by(PaymentLine.entitlement_month.desc(), PaymentLine.id.desc())
                                .limit(limit)))
