"""Excel exports of the fund's ledgers through the shared writer (donor contacts, names and ID numbers masked;
the insurer's file, with full ID numbers, is in `insurance`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.charity.fund import insurance, service
from doudi.charity.fund.labels import (
    CLAIM_LABELS,
    DONOR_LABELS,
    GRANT_LABELS,
    KIND_LABELS,
    PURPOSE_LABELS,
    program_label,
)
from doudi.charity.fund.models import Donation, Grant, Insured, Movement
from doudi.core import excel
from doudi.core.masking import mask_id, mask_name

MAX_ROWS = 1_000_000


def donations(session: Session, *, actor: Actor, f: service.Filter) -> bytes:
    """The donation ledger (individual donors' names and contacts masked)."""
    actor.require("fund.export")
    stmt = service.donations_query(actor, f).order_by(Donation.id)
    rows = ([d.receipt_no, f"{d.received_on:%Y-%m-%d}", DONOR_LABELS.get(d.donor_kind, d.donor_kind),
             d.donor_name if d.donor_kind == "company" else mask_name(d.donor_name), d.donor_contact,
             PURPOSE_LABELS.get(d.purpose, d.purpose), "是" if d.restricted else "否", d.restrictions,
             d.amount_fen / 100, d.area_code] for d in session.scalars(stmt.limit(MAX_ROWS)))
    cols = [excel.Col("票据号", 16), excel.Col("到账日期", 12), excel.Col("捐赠人类别", 10), excel.Col("捐赠人", 20),
            excel.Col("联系方式", 14, mask="phone"), excel.Col("用途", 14), excel.Col("定向", 6),
            excel.Col("限定条件", 24),
            excel.Col("金额(元)", 12, number_format="0.00"), excel.Col("基金所属县", 10)]
    return excel.to_bytes(excel.Sheet("捐赠收入", cols, rows, caption="慈善救助基金 捐赠收入台账"))


def grants(session: Session, *, actor: Actor, f: service.Filter) -> bytes:
    """The grant ledger."""
    actor.require("fund.export")
    stmt = service.grants_query(actor, f).order_by(Grant.id)
    rows = ([g.id, f"{g.created_at:%Y-%m-%d}" if g.created_at else "", PURPOSE_LABELS.get(g.purpose, g.purpose),
             PURPOSE_LABELS.get(g.pool, g.pool), g.amount_fen / 100, g.need_id, g.case_id, g.household_id,
             g.policy_id, g.reason, GRANT_LABELS.get(g.status, g.status), g.made_by_name, g.decided_by_name,
             g.decision_note, g.area_code] for g in session.scalars(stmt.limit(MAX_ROWS)))
    cols = [excel.Col("拨付编号", 10), excel.Col("提交日期", 12), excel.Col("用途", 14), excel.Col("资金来源", 14),
            excel.Col("金额(元)", 12, number_format="0.00"), excel.Col("需求编号", 10), excel.Col("案件编号", 10),
            excel.Col("家庭编号", 10), excel.Col("保单编号", 10), excel.Col("理由", 30), excel.Col("状态", 10),
            excel.Col("经办人", 12), excel.Col("审批人", 12), excel.Col("审批意见", 20), excel.Col("区划", 14)]
    return excel.to_bytes(excel.Sheet("救助拨付", cols, rows, caption="慈善救助基金 拨付台账（制单与审批分离）"))


def movements(session: Session, *, actor: Actor, f: service.Filter) -> bytes:
    """The movement ledger with each pool's running balance."""
    actor.require("fund.export")
    stmt = service.movements_query(actor, f).order_by(Movement.area_code, Movement.pool, Movement.seq)
    rows = ([m.area_code, PURPOSE_LABELS.get(m.pool, m.pool), m.seq, f"{m.month:%Y-%m}",
             KIND_LABELS.get(m.kind, m.kind),
             PURPOSE_LABELS.get(m.purpose, m.purpose), m.delta_fen / 100, m.balance_fen / 100, m.donation_id,
             m.grant_id] for m in session.scalars(stmt.limit(MAX_ROWS)))
    cols = [excel.Col("县", 8), excel.Col("资金", 14), excel.Col("序号", 6), excel.Col("月份", 8),
            excel.Col("类别", 10),
            excel.Col("用途", 14), excel.Col("发生额(元)", 12, number_format="0.00"),
            excel.Col("余额(元)", 12, number_format="0.00"), excel.Col("捐赠编号", 10), excel.Col("拨付编号", 10)]
    return excel.to_bytes(excel.Sheet("资金流水", cols, rows, caption="慈善救助基金 资金流水（只增不改）"))


def members(session: Session, *, actor: Actor, policy_id: int) -> bytes:
    """A policy's members with their ID numbers masked (the insurer's file is the only unmasked list)."""
    actor.require("fund.export")
    p = insurance.get_policy(session, actor=actor, policy_id=policy_id)
    rows = ([r.name, r.id_number, program_label(r.program), r.area_code]
            for r in session.execute(insurance.members_query(actor, p.id).order_by(Insured.id).limit(MAX_ROWS)))
    cols = [excel.Col("姓名", 12), excel.Col("身份证号", 20, mask=mask_id), excel.Col("救助类别", 14),
            excel.Col("区划", 14)]
    claims = ([c.claim_no, c.member_id, c.incident_on, c.kind, c.claimed_fen / 100, c.paid_fen / 100,
               CLAIM_LABELS.get(c.status, c.status)]
              for c in insurance.list_claims(session, actor=actor, policy_id=p.id))
    claim_cols = [excel.Col("报案号", 16), excel.Col("参保人编号", 10), excel.Col("出险日期", 12),
                  excel.Col("类别", 12),
                  excel.Col("申请(元)", 12, number_format="0.00"), excel.Col("赔付(元)", 12, number_format="0.00"),
                  excel.Col("状态", 8)]
    return excel.to_bytes(excel.Sheet("参保名单", cols, rows, caption=f"保单 {p.policy_no} 参保名单（身份证号已脱敏）"),
                          excel.Sheet("理赔", claim_cols, claims, caption=f"保单 {p.policy_no} 理赔台账"))
