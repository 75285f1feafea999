"""One-to-one support plans (一对一帮扶): a household's plan with its social worker and goals, visits with
progress, 社工+家政 training referrals and their outcome, and closure. Township staff run them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import get_in_area, in_area
from doudi.charity.fund.service import Page
from doudi.charity.refs import check_need
from doudi.charity.support.labels import GOAL_AREA_LABELS
from doudi.charity.support.models import (
    Goal,
    GoalArea,
    GoalStatus,
    Plan,
    PlanStatus,
    ReferralStatus,
    Training,
    Visit,
)
from doudi.core.errors import Conflict, FieldError, ValidationFailed
from doudi.db.versions import add_unique, claim
from doudi.policy.params import load_pack
from doudi.registry.models import Household, Membership

AREAS = {a.value for a in GoalArea}


def open_plan(session: Session, *, actor: Actor, household_id: int, worker_name: str, goals: list[tuple[str, str]],
              opened_on: date, worker_phone: str = "", partner_key: str | None = None,
              need_id: int | None = None) -> Plan:
    """Open a household's plan with its social worker and goals (one open plan per household)."""
    actor.require("support.manage")
    hh = get_in_area(session, Household, household_id, actor=actor, action=None, label="家庭")
    errors = []
    if not worker_name.strip():
        errors.append(FieldError("worker_name", "须指定负责的社工"))
    if not goals:
        errors.append(FieldError("goals", "至少设定一个帮扶目标（增加收入、健康、教育、就业）"))
    for i, (area, target) in enumerate(goals, start=1):
        if area not in AREAS:
            errors.append(FieldError("goals", f"第 {i} 个目标的类别应为 增加收入、健康、教育 或 就业", row=i))
        if not target.strip():
            errors.append(FieldError("goals", f"第 {i} 个目标须写明具体内容", row=i))
    if errors:
        raise ValidationFailed(errors)
    check_need(session, need_id=need_id, household_id=hh.id)
    plan = Plan(household_id=hh.id, area_code=hh.area_code, need_id=need_id, worker_name=worker_name.strip()[:64],
                worker_phone=worker_phone.strip()[:20], partner_key=(partner_key or "").strip()[:64] or None,
                opened_on=opened_on, created_by=actor.username)
    add_unique(session, plan, message=f"家庭 {hh.household_no} 已有进行中的帮扶计划")
    session.add_all([Goal(plan_id=plan.id, area=a, target=t.strip()[:200]) for a, t in goals])
    session.flush()
    audit.record(session, actor=actor, action="support.open", object_type="support_plan", object_id=plan.id,
                 area_code=plan.area_code, after={"household_id": hh.id, "worker": plan.worker_name,
                                                  "goals": [f"{GOAL_AREA_LABELS.get(a, a)}：{t}" for a, t in goals]})
    return plan


def get_plan(session: Session, *, actor: Actor, plan_id: int) -> Plan:
    """A plan in the actor's area."""
    return get_in_area(session, Plan, plan_id, actor=actor, action="support.read", label="帮扶计划")


def goals_of(session: Session, plan_id: int) -> list[Goal]:
    """A plan's goals in the order set."""
    return list(session.scalars(select(Goal).where(Goal.plan_id == plan_id).order_by(Goal.id)))


def visits_of(session: Session, plan_id: int) -> list[Visit]:
    """A plan's visits, newest first."""
    return list(session.scalars(select(Visit).where(Visit.plan_id == plan_id).order_by(Visit.visited_on.desc())))


def trainings_of(session: Session, plan_id: int) -> list[Training]:
    """A plan's training referrals."""
    return list(session.scalars(select(Training).where(Training.plan_id == plan_id).order_by(Training.id)))


def record_visit(session: Session, *, actor: Actor, plan_id: int, version: int | None, visited_on: date, visitor: str,
                 notes: str, progress: dict[int, tuple[str, str]] | None = None, today: date) -> Visit:
    """A visit and, per goal id, its new status and progress note."""
    actor.require("support.manage")
    plan = get_plan(session, actor=actor, plan_id=plan_id)
    claim(session, plan, version, label="该帮扶计划")
    if plan.status != PlanStatus.OPEN:
        raise Conflict("已结案的帮扶计划不能再登记走访")
    if visited_on > today or visited_on < plan.opened_on:
        raise ValidationFailed([FieldError("visited_on", "走访日期应在计划开始之后、不晚于今天")])
    if not visitor.strip() or not notes.strip():
        raise ValidationFailed([FieldError("notes", "须填写走访人和走访情况")])
    v = Visit(plan_id=plan.id, visited_on=visited_on, visitor=visitor.strip()[:64], notes=notes.strip(),
              recorded_by=actor.username)
    add_unique(session, v, message="同一走访人当天的走访已登记")
    goals = {g.id: g for g in goals_of(session, plan.id)}
    for goal_id, (status, note) in (progress or {}).items():
        g = goals.get(goal_id)
        if g is None or status not in {s.value for s in GoalStatus}:
            raise ValidationFailed([FieldError("progress", f"目标 {goal_id} 不属于该计划或进展状态有误")])
        g.status, g.progress = status, note.strip()[:300]
        g.met_on = visited_on if status == GoalStatus.MET else None
    session.flush()
    audit.record(session, actor=actor, action="support.visit", object_type="support_plan", object_id=plan.id,
                 area_code=plan.area_code, after={"visited_on": visited_on.isoformat(), "visitor": v.visitor,
                                                  "goals": {str(k): s for k, (s, _) in (progress or {}).items()}})
    return v


def refer_training(session: Session, *, actor: Actor, plan_id: int, person_id: int, course: str, referred_on: date,
                   partner_key: str | None = None) -> Training:
    """Refer a member of the plan's household to a 社工+家政 training course."""
    actor.require("support.manage")
    plan = get_plan(session, actor=actor, plan_id=plan_id)
    if plan.status != PlanStatus.OPEN:
        raise Conflict("已结案的帮扶计划不能再转介培训")
    member = session.scalar(select(Membership.id).where(
        Membership.household_id == plan.household_id, Membership.person_id == person_id, Membership.valid_to.is_(None)))
    if member is None:
        raise ValidationFailed([FieldError("person_id", f"人员 {person_id} 不是该家庭的现有成员")])
    if not course.strip():
        raise ValidationFailed([FieldError("course", "须填写培训项目")])
    t = Training(plan_id=plan.id, person_id=person_id, area_code=plan.area_code, course=course.strip()[:100],
                 partner_key=(partner_key or "").strip()[:64] or None, referred_on=referred_on)
    add_unique(session, t, message="该成员已转介过同一培训项目")
    audit.record(session, actor=actor, action="support.training", object_type="support_training", object_id=t.id,
                 area_code=plan.area_code, after={"plan_id": plan.id, "person_id": person_id, "course": t.course})
    return t


def record_outcome(session: Session, *, actor: Actor, training_id: int, version: int | None, outcome: str,
                   on: date, employer: str = "", monthly_wage_fen: int | None = None) -> Training:
    """The training's outcome: trained, then employed (with employer and wage) or not employed."""
    actor.require("support.manage")
    t = get_in_area(session, Training, training_id, actor=actor, action=None, label="培训转介")
    claim(session, t, version, label="该培训转介")
    allowed = {ReferralStatus.REFERRED: {ReferralStatus.TRAINED, ReferralStatus.EMPLOYED, ReferralStatus.NOT_EMPLOYED},
               ReferralStatus.TRAINED: {ReferralStatus.EMPLOYED, ReferralStatus.NOT_EMPLOYED}}
    if outcome not in allowed.get(ReferralStatus(t.status), set()):
        raise Conflict("培训转介已有结果，不能再改")
    if outcome == ReferralStatus.EMPLOYED and (not employer.strip() or not monthly_wage_fen or monthly_wage_fen <= 0):
        raise ValidationFailed([FieldError("employer", "已就业须填写用工单位和月工资")])
    before = {"status": t.status}
    t.status, t.outcome_on = outcome, on
    if outcome == ReferralStatus.EMPLOYED:
        t.employer, t.monthly_wage_fen = employer.strip()[:100], monthly_wage_fen
    session.flush()
    audit.record(session, actor=actor, action="support.outcome", object_type="support_training", object_id=t.id,
                 area_code=t.area_code, before=before, after={"status": outcome, "employer": t.employer})
    return t


def close_plan(session: Session, *, actor: Actor, plan_id: int, version: int | None, closure: str,
               closed_on: date) -> Plan:
    """Close a plan with the reason (goals met, moved away, declined …)."""
    actor.require("support.manage")
    plan = get_plan(session, actor=actor, plan_id=plan_id)
    claim(session, plan, version, label="该帮扶计划")
    if plan.status != PlanStatus.OPEN:
        raise Conflict("该帮扶计划已结案")
    if not closure.strip():
        raise ValidationFailed([FieldError("closure", "须写明结案原因")])
    plan.status, plan.closed_on, plan.closure = PlanStatus.CLOSED, closed_on, closure.strip()[:300]
    session.flush()
    audit.record(session, actor=actor, action="support.close", object_type="support_plan", object_id=plan.id,
                 area_code=plan.area_code, before={"status": "open"}, after={"status": "closed",
                                                                            "closure": plan.closure})
    return plan


def plans_query(actor: Actor, *, status: str = "", q: str = "") -> Select[Any]:
    """Plans in the actor's area, with the last visit date."""
    actor.require("support.read")
    last = select(Visit.plan_id, func.max(Visit.visited_on).label("last_visit")).group_by(Visit.plan_id).subquery()
    stmt = in_area(select(Plan, last.c.last_visit, Household.household_no).outerjoin(last, last.c.plan_id == Plan.id)
                   .join(Household, Household.id == Plan.household_id), Plan.area_code, actor)
    if status:
        stmt = stmt.where(Plan.status == status)
    if q:
        stmt = stmt.where(Plan.worker_name.contains(q) | (Household.household_no == q))
    return stmt


def list_plans(session: Session, *, actor: Actor, status: str = "", q: str = "", page: int = 1,
               per_page: int = 20) -> Page:
    """One page of plans (plan, last visit, household number), newest first."""
    stmt = plans_query(actor, status=status, q=q)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = list(session.execute(stmt.order_by(Plan.id.desc()).limit(per_page).offset((page - 1) * per_page)).all())
    return Page(rows, total)


def visit_overdue(last_visit: date | None, opened_on: date, *, area: str, today: date) -> bool:
    """Whether an open plan has gone longer than the pack's interval without a visit (the interval included)."""
    days = int(load_pack(area).value("charity.support.visit_interval_days", on=today))
    return today - (last_visit or opened_on) > timedelta(days=days)

