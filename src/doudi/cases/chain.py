"""The household's applications and decisions, enrollments and their changes, for 一户一条救助链."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import in_scope
from doudi.cases.labels import PROGRAM_LABELS
from doudi.cases.models import Case, Enrollment, EnrollmentChange, ProgramDecision
from doudi.core.timeline import ChainEvent

CHANGE = {"review": "定期核查", "increase": "增发", "decrease": "减发", "gradual_exit": "渐退", "terminate": "终止"}
OUTCOME = {"approved": "批准", "rejected": "不予批准"}
CASE_STATUS = {"submitted": "待受理", "needs_info": "待补正", "open": "办理中", "decided": "已办结", "closed": "已关闭",
               "withdrawn": "已撤回"}
ENROLLMENT_STATUS = {"active": "在保", "suspended": "暂停发放", "gradual_exit": "渐退中", "terminated": "已终止",
                     "pending_termination": "待终止"}


def _program(key: str) -> str:
    return str(PROGRAM_LABELS.get(key, key))


def chain_events(session: Session, *, actor: Actor, household_id: int) -> list[ChainEvent]:
    """Applications (submitted), decisions per program, enrollments (start, end) and every change."""
    if not actor.can("case.read"):
        return []
    out: list[ChainEvent] = []
    cases = list(session.scalars(in_scope(select(Case), actor, area=Case.area_code).where(
        Case.household_id == household_id)))
    for c in cases:
        asked = "、".join(map(_program, c.programs))
        out.append(ChainEvent(c.submitted_at.date(), "申请", f"{c.case_no} 申请（{asked}）",
                              CASE_STATUS.get(str(c.status), str(c.status)),
                              f"/cases/{c.id}"))
    ids = {c.id: c for c in cases}
    if ids:
        for d in session.scalars(select(ProgramDecision).where(ProgramDecision.case_id.in_(list(ids)),
                                                               ProgramDecision.decided_on.is_not(None))):
            assert d.decided_on is not None
            decided = OUTCOME.get(d.outcome, d.outcome)
            out.append(ChainEvent(d.decided_on, "审批决定", f"{_program(d.program)}：{decided}",
                                  f"月额 {d.monthly_amount} 元" if d.outcome == "approved" else "；".join(d.reasons),
                                  f"/cases/{d.case_id}"))
    enrollments = list(session.scalars(in_scope(select(Enrollment), actor, area=Enrollment.area_code).where(
        Enrollment.household_id == household_id)))
    for e in enrollments:
        out.append(ChainEvent(e.start_month, "纳入保障", f"{_program(e.program)} 每月 {e.monthly_amount} 元",
                              ENROLLMENT_STATUS.get(str(e.status), str(e.status))))
        if e.end_month is not None:
            out.append(ChainEvent(e.end_month, "停止保障", f"{_program(e.program)} 自 {e.end_month} 起停发"))
    if enrollments:
        programs = {e.id: e.program for e in enrollments}
        for ch in session.scalars(select(EnrollmentChange).where(EnrollmentChange.enrollment_id.in_(list(programs)))):
            out.append(ChainEvent(ch.decided_at.date(), "动态管理",
                                  f"{_program(programs[ch.enrollment_id])}{CHANGE.get(ch.kind, ch.kind)}："
                                  f"{ch.old_amount} → {ch.new_amount} 元", ch.reason))
    return out
