"""Dynamic management of enrollments: scheduled reviews, increases and reductions, gradual exit (渐退),
and termination after 公示, effective from the next month (审核确认办法 Art. 31–33; 2022 通知 一(三))."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import get_in_area, in_area
from doudi.cases.models import ChangeStatus, Enrollment, EnrollmentChange, EnrollmentStatus, Notice
from doudi.cases.notices import change_notice
from doudi.cases.procedure import add_months, next_month, rules_for
from doudi.core import clock
from doudi.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from doudi.db.versions import claim

OUTCOMES = {"no_change", "increase", "decrease", "gradual_exit", "terminate"}


def scoped(stmt: Select[Any], actor: Actor) -> Select[Any]:
    """Limit an enrollment query to the actor's area."""
    return in_area(stmt, Enrollment.area_code, actor)


def get_enrollment(session: Session, *, actor: Actor, enrollment_id: int) -> Enrollment:
    """An enrollment in the actor's area, or NotFound."""
    return get_in_area(session, Enrollment, enrollment_id, actor=actor, action="case.read", label="enrollment")


def due_reviews(session: Session, *, actor: Actor, today: date, within_days: int = 30) -> list[Enrollment]:
    """Active enrollments whose scheduled review falls due within the window (or is overdue)."""
    actor.require("case.read")
    stmt = scoped(select(Enrollment), actor).where(
        Enrollment.status.in_([EnrollmentStatus.ACTIVE, EnrollmentStatus.GRADUAL_EXIT]),
        Enrollment.next_review_on <= today + timedelta(days=within_days),
    ).order_by(Enrollment.next_review_on)
    return list(session.scalars(stmt.limit(1000)))


def _audit(session: Session, actor: Actor, e: Enrollment, action: str, before: dict[str, Any],
           after: dict[str, Any], reason: str) -> None:
    audit.record(session, actor=actor, action=action, object_type="enrollment", object_id=e.id,
                 area_code=e.area_code, before=before, after=after, extra={"reason": reason})


def _snap(e: Enrollment) -> dict[str, Any]:
    return {"status": e.status, "monthly_amount": str(e.monthly_amount),
            "gradual_exit_until": e.gradual_exit_until.isoformat() if e.gradual_exit_until else None,
            "end_month": e.end_month.isoformat() if e.end_month else None,
            "next_review_on": e.next_review_on.isoformat() if e.next_review_on else None}


def review(session: Session, *, actor: Actor, enrollment_id: int, version: int, outcome: str, reason: str,
           today: date, new_amount: Decimal | str | None = None, months: int | None = None) -> EnrollmentChange:
    """Record a review or a change with its reason; returns the change (a notice is issued for changes)."""
    if outcome not in OUTCOMES:
        raise ValidationFailed([FieldError("outcome", f"应为 {sorted(OUTCOMES)} 之一")])
    actor.require("enrollment.manage" if outcome == "no_change" else "enrollment.approve")
    e = get_enrollment(session, actor=actor, enrollment_id=enrollment_id)
    if not reason.strip():
        raise ValidationFailed([FieldError("reason", "须写明理由（将写入告知书）")])
    # Every change takes the enrollment's next version first, so a repeated or concurrent request (the same
    # termination sent twice) finds it moved on; the unique index on open terminations backs this up.
    claim(session, e, version, label="该保障记录")
    if e.status == EnrollmentStatus.TERMINATED:
        raise Conflict("已终止的保障不能再调整")
    if outcome == "terminate" and _open_termination(session, e.id) is not None:
        raise Conflict("该保障已有公示中的停发，请等待公示期满或登记异议")
    rules = rules_for(e.area_code, today)
    before = _snap(e)
    effective = next_month(today)
    change = EnrollmentChange(enrollment_id=e.id, kind=outcome, effective_month=effective, old_amount=e.monthly_amount,
                              new_amount=e.monthly_amount, reason=reason.strip(), decided_by=actor.user_id)
    if outcome == "no_change":
        change.kind = "review"  # Art. 31: no material change means no change to the amount
    elif outcome in {"increase", "decrease"}:
        try:
            amount = Decimal(str(new_amount)).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            raise ValidationFailed([FieldError("new_amount", "须填写调整后的金额")]) from None
        if (outcome == "increase") != (amount > e.monthly_amount) or amount < 0:
            raise ValidationFailed([FieldError("new_amount", "增发须高于、减发须低于现金额")])
        change.new_amount = amount
        e.monthly_amount = amount
    elif outcome == "gradual_exit":
        limit = int(rules.gradual_exit_max_months)
        n = int(months or limit)
        if not 1 <= n <= limit:
            raise ValidationFailed([FieldError("months", f"渐退期为 1 至 {limit} 个月（2022 通知 一(三)）")])
        e.status, e.gradual_exit_until = EnrollmentStatus.GRADUAL_EXIT, add_months(effective, n)
    elif outcome == "terminate":
        change.status = ChangeStatus.PUBLICIZING
        change.publicity_until = today + timedelta(days=int(rules.termination_publicity_days))
    if outcome != "terminate":
        e.next_review_on = add_months(next_month(today), e.review_cycle_months)
    session.add(change)
    session.flush()
    if change.kind in {"increase", "decrease", "gradual_exit"}:
        change_notice(session, enrollment=e, change=change, today=today)
    _audit(session, actor, e, f"enrollment.{change.kind}", before, _snap(e), reason)
    return change


def _open_termination(session: Session, enrollment_id: int) -> int | None:
    return session.scalar(select(EnrollmentChange.id).where(
        EnrollmentChange.enrollment_id == enrollment_id, EnrollmentChange.kind == "terminate",
        EnrollmentChange.status == ChangeStatus.PUBLICIZING))


def object_to_termination(session: Session, *, actor: Actor, change_id: int, content: str,
                          version: int | None = None) -> EnrollmentChange:
    """An objection during the termination 公示 cancels it; the household is re-examined."""
    actor.require("enrollment.manage")
    change = session.get(EnrollmentChange, change_id)
    if change is None:
        raise NotFound("change")
    e = get_enrollment(session, actor=actor, enrollment_id=change.enrollment_id)
    if len(content.strip()) < 2:
        raise ValidationFailed([FieldError("content", "须记录异议内容")])
    claim(session, e, label="该保障记录")  # the enrollment first, then its change: one lock order everywhere
    claim(session, change, version, label="该停发记录")
    if change.status != ChangeStatus.PUBLICIZING:
        raise Conflict("只有公示中的停发可以登记异议")
    change.status = ChangeStatus.CANCELLED
    if e.status == EnrollmentStatus.GRADUAL_EXIT and e.gradual_exit_until is not None:
        e.next_review_on = clock.today()  # re-examine the household now
    _audit(session, actor, e, "enrollment.termination_objection", {}, {}, content)
    return change


def finalize_due(session: Session, *, actor: Actor, today: date) -> list[Enrollment]:
    """Daily job: a gradual exit that ran out starts a termination 公示; a termination whose 公示 passed
    without objection ends the enrollment from the next month (特困认定办法 Art. 26; 审核确认办法 Art. 32)."""
    exits = session.scalars(scoped(select(Enrollment), actor).where(
        Enrollment.status == EnrollmentStatus.GRADUAL_EXIT, Enrollment.gradual_exit_until <= today))
    for e in list(exits):
        pending = session.scalar(select(EnrollmentChange.id).where(
            EnrollmentChange.enrollment_id == e.id, EnrollmentChange.status == ChangeStatus.PUBLICIZING))
        if pending is None:
            claim(session, e, label="该保障记录")
            days = int(rules_for(e.area_code, today).termination_publicity_days)
            session.add(EnrollmentChange(enrollment_id=e.id, kind="terminate", status=ChangeStatus.PUBLICIZING,
                                         effective_month=next_month(today), old_amount=e.monthly_amount,
                                         new_amount=e.monthly_amount, reason="渐退期满，拟停发",
                                         decided_by=actor.user_id, publicity_until=today + timedelta(days=days)))
            _audit(session, actor, e, "enrollment.gradual_exit_end", _snap(e), _snap(e), "渐退期满，进入终止公示")
    session.flush()
    done: list[Enrollment] = []
    changes = session.scalars(scoped(select(EnrollmentChange).join(Enrollment), actor).where(
        EnrollmentChange.status == ChangeStatus.PUBLICIZING, EnrollmentChange.publicity_until < today))
    for change in list(changes):
        e = session.get(Enrollment, change.enrollment_id)
        assert e is not None
        claim(session, e, label="该保障记录")
        claim(session, change, label="该停发记录")
        before = _snap(e)
        change.status, change.effective_month, change.new_amount = ChangeStatus.EFFECTIVE, next_month(today), Decimal(0)
        e.status, e.end_month, e.next_review_on = EnrollmentStatus.TERMINATED, change.effective_month, None
        change_notice(session, enrollment=e, change=change, today=today)
        _audit(session, actor, e, "enrollment.terminated", before, _snap(e), change.reason)
        done.append(e)
    session.flush()
    return done


def changes_of(session: Session, *, enrollment: Enrollment) -> list[EnrollmentChange]:
    """An enrollment's change history, newest first."""
    stmt = select(EnrollmentChange).where(EnrollmentChange.enrollment_id == enrollment.id)
    return list(session.scalars(stmt.order_by(EnrollmentChange.id.desc())))


def notices_of(session: Session, *, enrollment: Enrollment) -> list[Any]:
    """Notices issued for an enrollment's changes, newest first."""
    stmt = select(Notice).where(Notice.enrollment_id == enrollment.id).order_by(Notice.id.desc())
    return list(session.scalars(stmt))
