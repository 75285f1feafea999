"""The township temporary-aid reserve fund (小额临时救助备用金): allotments and replenishments by the county,
spending on small temporary aid (先行救助 included) by the township, each spend linked to its case.

A single spend is limited by the pack (reserve.single_limit, 以下 includes the number); spending beyond the
balance needs the county. Entries are numbered per township and the number is unique, so two concurrent
entries cannot both compute their balance from the same previous one."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import in_area, in_subtree
from doudi.cases.models import Case
from doudi.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from doudi.db.versions import add_unique
from doudi.payments.models import LedgerKind, ReserveEntry
from doudi.payments.service import yuan
from doudi.policy.params import load_pack

KIND_LABELS = {LedgerKind.ALLOT: "拨付", LedgerKind.SPEND: "支出", LedgerKind.REPLENISH: "补充"}


def ledger(session: Session, *, actor: Actor, township: str, limit: int = 200) -> list[ReserveEntry]:
    """A township's ledger, newest first."""
    actor.require("payment.read")
    stmt = in_area(select(ReserveEntry), ReserveEntry.township_code, actor).where(
        ReserveEntry.township_code == township)
    return list(session.scalars(stmt.order_by(ReserveEntry.seq.desc()).limit(limit)))


def balance(session: Session, *, township: str) -> tuple[int, int]:
    """(last entry number, balance in fen) of a township's fund."""
    last = session.scalar(select(ReserveEntry).where(ReserveEntry.township_code == township)
                          .order_by(ReserveEntry.seq.desc()).limit(1))
    return (last.seq, last.balance_fen) if last else (0, 0)


def record(session: Session, *, actor: Actor, township: str, kind: str, amount_fen: int, today: date,
           case_id: int | None = None, note: str = "") -> ReserveEntry:
    """Add one ledger entry; returns it with the balance after it."""
    if kind not in {k.value for k in LedgerKind}:
        raise ValidationFailed([FieldError("kind", "应为 拨付(allot)、支出(spend) 或 补充(replenish)")])
    if amount_fen <= 0:
        raise ValidationFailed([FieldError("amount", "金额须大于 0")])
    if len(township) != 9 or not actor.sees(township):
        raise NotFound(f"乡镇 {township}")
    county_ok = actor.can("reserve.manage")
    if kind != LedgerKind.SPEND:
        actor.require("reserve.manage")
    else:
        actor.require("reserve.spend")
        if case_id is None:
            raise ValidationFailed([FieldError("case_id", "备用金支出须关联临时救助案件")])
        case = session.get(Case, case_id)
        if case is None or not actor.sees(case.area_code) or not in_subtree(case.area_code, township):
            raise ValidationFailed([FieldError("case_id", f"案件 {case_id} 不在本乡镇")])
        limit = float(load_pack(township).value("reserve.single_limit", on=today))
        if amount_fen > round(limit * 100):
            raise ValidationFailed([FieldError("amount",
                                               f"超过备用金单笔限额 {limit:.0f} 元，须按临时救助程序由县级审批")])
    seq, bal = balance(session, township=township)
    after = bal - amount_fen if kind == LedgerKind.SPEND else bal + amount_fen
    if after < 0 and not county_ok:
        raise Conflict(f"备用金余额 {yuan(bal)} 元不足，超出部分须县级审批后支出")
    entry = ReserveEntry(township_code=township, seq=seq + 1, kind=kind, amount_fen=amount_fen, balance_fen=after,
                         case_id=case_id, note=note[:200], recorded_by=actor.username,
                         county_approved_by=actor.username if after < 0 else "")
    add_unique(session, entry, message="备用金台账已被他人同时记账，或该案件已从备用金支出，请刷新后重试")
    audit.record(session, actor=actor, action=f"reserve.{kind}", object_type="reserve_entry", object_id=entry.id,
                 area_code=township, after={"amount": yuan(amount_fen), "balance": yuan(after), "case_id": case_id,
                                            "beyond_balance": after < 0})
    return entry
