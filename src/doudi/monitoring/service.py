"""The warning ledger (预警台账): list, look up, assign, verify, dispose and close warnings; every query scoped
through auth.scope, every change claimed (optimistic lock) and audited. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import area_clause, covers_everything, get_in_area, in_scope, under
from doudi.cases import enrollments
from doudi.cases.models import Enrollment, EnrollmentStatus
from doudi.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from doudi.db.versions import claim
from doudi.monitoring import doubles, referrals
from doudi.monitoring.labels import DISPOSITION
from doudi.monitoring.models import Disposition, MonitorWarning, WarningSide, WarningStatus
from doudi.monitoring.run import rule_specs

OPEN = (WarningStatus.NEW, WarningStatus.ASSIGNED, WarningStatus.VERIFYING, WarningStatus.DISPOSED)


@dataclass(frozen=True)
class Filters:
    """What the ledger page and exports filter on."""

    rule: str = ""
    level: str = ""
    status: str = ""  # a status, 'open' for every open one, '' for all
    township: str = ""  # an area code (or prefix) inside the actor's scope
    overdue: bool = False
    q: str = ""  # name, ID number or reason text


def _visible(session: Session, actor: Actor) -> Any:
    """Warnings in the actor's area, and warnings above it (a 重复 across counties) with a side in it."""
    own = area_clause(MonitorWarning.area_code, actor)
    if covers_everything(actor):
        return own
    # The few warnings above the area are looked up first: against a subquery the OR could not use the area
    # index, and every page of a village read the whole ledger.
    above = session.scalars(select(WarningSide.warning_id).distinct()
                            .where(area_clause(WarningSide.area_code, actor))).all()
    return or_(own, MonitorWarning.id.in_(above)) if above else own


def _query(session: Session, actor: Actor, f: Filters, today: date) -> Any:
    stmt = select(MonitorWarning).where(_visible(session, actor))
    if f.rule:
        stmt = stmt.where(MonitorWarning.rule_key == f.rule)
    if f.level:
        stmt = stmt.where(MonitorWarning.level == f.level)
    if f.status == "open":
        stmt = stmt.where(MonitorWarning.status.in_([str(s) for s in OPEN]))
    elif f.status:
        stmt = stmt.where(MonitorWarning.status == f.status)
    if f.township:
        stmt = under(stmt, MonitorWarning.area_code, f.township)
    if f.overdue:
        waiting = [WarningStatus.NEW, WarningStatus.ASSIGNED, WarningStatus.VERIFYING]
        stmt = stmt.where(MonitorWarning.due_on < today, MonitorWarning.status.in_(waiting))
    if f.q.strip():
        like = f"%{f.q.strip()}%"
        stmt = stmt.where(or_(MonitorWarning.person_name.like(like), MonitorWarning.id_number == f.q.strip(),
                              MonitorWarning.reason.like(like)))
    return stmt


def list_warnings(session: Session, *, actor: Actor, filters: Filters, today: date, page: int = 1,
                  per_page: int = 50) -> tuple[list[MonitorWarning], int]:
    """One page of the ledger (most urgent first: open warnings by due date, closed ones last) and the total."""
    actor.require("monitoring.read")
    stmt = _query(session, actor, filters, today)
    # Open and closed warnings are counted together and paged apart, each in the order of the (due_on, id) index:
    # a page is then read from the index, where one ORDER BY (closed, due date) sorted every matching warning.
    sub = stmt.subquery()
    if filters.status:  # one state or the open ones: a plain count (cheaper than counting by state)
        total = session.scalar(select(func.count()).select_from(sub)) or 0
        n_open, n_closed = (0, total) if filters.status == WarningStatus.CLOSED else (total, 0)
    else:
        is_closed = sub.c.status == WarningStatus.CLOSED
        by_state = {bool(c): int(n) for c, n in session.execute(select(is_closed, func.count()).group_by(is_closed))}
        n_open, n_closed = by_state.get(False, 0), by_state.get(True, 0)
    start, order = (page - 1) * per_page, (MonitorWarning.due_on, MonitorWarning.id)
    rows: list[MonitorWarning] = []
    if start < n_open:
        rows += session.scalars(stmt.where(MonitorWarning.status != WarningStatus.CLOSED).order_by(*order)
                                .offset(start).limit(per_page)).all()
    if n_closed and len(rows) < per_page:
        rows += session.scalars(stmt.where(MonitorWarning.status == WarningStatus.CLOSED).order_by(*order)
                                .offset(max(start - n_open, 0)).limit(per_page - len(rows))).all()
    return rows, n_open + n_closed


def all_warnings(session: Session, *, actor: Actor, filters: Filters, today: date) -> list[MonitorWarning]:
    """Every warning matching (for exports)."""
    actor.require("monitoring.export")
    return list(session.scalars(_query(session, actor, filters, today).order_by(MonitorWarning.id)))


def get_warning(session: Session, *, actor: Actor, warning_id: int) -> MonitorWarning:
    """One warning in the actor's scope, or above it with the actor's side (NotFound otherwise)."""
    try:
        return owned_warning(session, actor=actor, warning_id=warning_id)
    except NotFound:
        w = session.get(MonitorWarning, warning_id)
        if w is None or not own_sides(session, actor=actor, warning=w):
            raise
        return w


def owned_warning(session: Session, *, actor: Actor, warning_id: int,
                  action: str | None = "monitoring.read") -> MonitorWarning:
    """One warning of the actor's own area, the only kind they may act on (NotFound otherwise)."""
    return get_in_area(session, MonitorWarning, warning_id, actor=actor, action=action, label="预警")


def own_sides(session: Session, *, actor: Actor, warning: MonitorWarning) -> list[WarningSide]:
    """The sides of a warning above the counties that lie in the actor's area (each county sees only its own)."""
    stmt = in_scope(select(WarningSide), actor, area=WarningSide.area_code).where(
        WarningSide.warning_id == warning.id).order_by(WarningSide.id)
    return list(session.scalars(stmt))


def _change(session: Session, actor: Actor, w: MonitorWarning, version: int | None, action: str,
            before: dict[str, Any]) -> None:
    audit.record(session, actor=actor, action=f"monitoring.{action}", object_type="monitoring_warning",
                 object_id=w.id, area_code=w.area_code, before=before,
                 after={"status": w.status, "disposition": w.disposition, "note": w.note})


def _snapshot(w: MonitorWarning) -> dict[str, Any]:
    return {"status": w.status, "disposition": w.disposition, "note": w.note}


def _open(w: MonitorWarning) -> None:
    if w.status == WarningStatus.CLOSED:
        raise Conflict(f"预警 {w.id} 已关闭，不能再操作")


def assign(session: Session, *, actor: Actor, warning_id: int, version: int | None, assignee_id: int | None,
           note: str = "") -> MonitorWarning:
    """Hand a new warning to a township worker (or take it oneself)."""
    actor.require("monitoring.dispose")
    w = owned_warning(session, actor=actor, warning_id=warning_id)
    _open(w)
    before = _snapshot(w)
    claim(session, w, version, label="该预警")
    w.assignee_id = assignee_id if assignee_id is not None else actor.user_id
    if w.status == WarningStatus.NEW:
        w.status = WarningStatus.ASSIGNED
    if note.strip():
        w.note = note.strip()
    _change(session, actor, w, version, "assign", before)
    return w


def verify(session: Session, *, actor: Actor, warning_id: int, version: int | None, note: str) -> MonitorWarning:
    """Start (or record) verification: a home visit or records check, with findings."""
    actor.require("monitoring.dispose")
    w = owned_warning(session, actor=actor, warning_id=warning_id)
    _open(w)
    if not note.strip():
        raise ValidationFailed([FieldError("note", "请填写核实方式和情况（入户核实或查阅资料）")])
    before = _snapshot(w)
    claim(session, w, version, label="该预警")
    w.status = WarningStatus.VERIFYING
    w.note = note.strip()
    if w.assignee_id is None:
        w.assignee_id = actor.user_id
    _change(session, actor, w, version, "verify", before)
    return w


def dispose(session: Session, *, actor: Actor, warning_id: int, version: int | None, disposition: str, note: str,
            today: date, target_key: str = "", target_kind: str = "agency") -> MonitorWarning:
    """Record what is done: no action (with reason), review, application, suspend pending review, or refer."""
    actor.require("monitoring.dispose")
    w = owned_warning(session, actor=actor, warning_id=warning_id)
    _open(w)
    errors = []
    if disposition not in DISPOSITION:
        choices = "、".join(DISPOSITION.values())
        errors.append(FieldError("disposition", f"未知处置方式 {disposition!r}；可选：{choices}"))
    else:
        allowed = rule_specs(w.area_code, today)[w.rule_key].dispositions if w.rule_key in rule_specs(
            w.area_code, today) else tuple(DISPOSITION)
        if disposition not in allowed:
            errors.append(FieldError("disposition", f"该预警规则不允许“{DISPOSITION[disposition]}”；可选："
                                     f"{'、'.join(DISPOSITION[d] for d in allowed)}"))
    if not note.strip():
        errors.append(FieldError("note", "请填写处置理由或说明"))
    if disposition == Disposition.REFER and not target_key:
        errors.append(FieldError("target_key", "转办须选择受理部门或机构"))
    if errors:
        raise ValidationFailed(errors)
    before = _snapshot(w)
    claim(session, w, version, label="该预警")
    w.disposition = disposition
    w.note = note.strip()
    w.disposed_on = today
    w.status = WarningStatus.DISPOSED
    if disposition == Disposition.SUSPEND:
        _suspend(session, actor, w, note.strip(), today)
    if disposition == Disposition.REFER:
        referrals.create(session, actor=actor, warning=w, target_kind=target_kind, target_key=target_key,
                         purpose=note.strip(), today=today)
    _change(session, actor, w, version, "dispose", before)
    return w


# A death or a cancelled 户籍 stops payment from the next month without 公示 (a death needs none); any other stop
# goes through the termination procedure with its 公示 (审核确认办法 第三十三条).
WITHOUT_PUBLICITY = ("death", "hukou_cancelled")


def _suspend(session: Session, actor: Actor, w: MonitorWarning, note: str, today: date) -> None:
    """Stop payment of the household's live enrollments: suspended at once pending re-assessment after a death
    (payments skip suspended); otherwise a termination under 公示, decided by whoever may approve it."""
    stmt = in_scope(select(Enrollment), actor, area=Enrollment.area_code).where(
        Enrollment.household_id == w.household_id,
        Enrollment.status.in_([EnrollmentStatus.ACTIVE, EnrollmentStatus.GRADUAL_EXIT]))
    live = list(session.scalars(stmt))
    if not live:
        raise ValidationFailed([FieldError("disposition", "该家庭没有在保记录，无需暂停或停发")])
    if w.rule_key not in WITHOUT_PUBLICITY:
        if not actor.can("enrollment.approve"):
            raise PermissionDenied("停发须经县级审批并公示：请处置为“启动复核”，或由县级民政部门处置")
        for e in live:
            enrollments.review(session, actor=actor, enrollment_id=e.id, version=e.version, outcome="terminate",
                               reason=f"监测预警 {w.id}：{note}", today=today)
        return
    for e in live:
        claim(session, e, label="该在保记录")
        before = {"status": e.status}
        e.status = EnrollmentStatus.SUSPENDED
        audit.record(session, actor=actor, action="enrollment.suspend", object_type="enrollment", object_id=e.id,
                     area_code=e.area_code, before=before, after={"status": e.status},
                     extra={"warning_id": w.id})


def close(session: Session, *, actor: Actor, warning_id: int, version: int | None, note: str, today: date
          ) -> MonitorWarning:
    """Close a warning with a reason; an undisposed warning closes as “no action”, and stays closed for the same
    evidence."""
    actor.require("monitoring.dispose")
    w = owned_warning(session, actor=actor, warning_id=warning_id)
    _open(w)
    if not note.strip():
        raise ValidationFailed([FieldError("note", "关闭预警须填写理由")])
    before = _snapshot(w)
    claim(session, w, version, label="该预警")
    if w.disposition is None:
        w.disposition = Disposition.NO_ACTION
        w.disposed_on = today
    w.note = (w.note + "\n" if w.note and w.note != note.strip() else "") + note.strip()
    w.status = WarningStatus.CLOSED
    w.open_key = None
    w.closed_on = today
    _change(session, actor, w, version, "close", before)
    return w


def stats(session: Session, *, actor: Actor, today: date) -> dict[str, Any]:
    """Chart figures: warnings by rule and township, a weekly trend, and the on-time disposal rate."""
    actor.require("monitoring.read")
    base = in_scope(select(MonitorWarning.rule_key, MonitorWarning.area_code, MonitorWarning.first_seen_on,
                           MonitorWarning.due_on, MonitorWarning.disposed_on, MonitorWarning.status),
                    actor, area=MonitorWarning.area_code)
    rows = session.execute(base).all()
    by_rule: dict[str, int] = {}
    by_town: dict[str, int] = {}
    weekly: dict[str, int] = {}
    due = on_time = 0
    for r in rows:
        by_rule[r.rule_key] = by_rule.get(r.rule_key, 0) + 1
        by_town[r.area_code[:9]] = by_town.get(r.area_code[:9], 0) + 1
        monday = r.first_seen_on.toordinal() - r.first_seen_on.weekday()
        week = date.fromordinal(monday).isoformat()
        weekly[week] = weekly.get(week, 0) + 1
        if r.disposed_on is not None or r.due_on < today:
            due += 1
            on_time += int(r.disposed_on is not None and r.disposed_on <= r.due_on)
    return {"by_rule": by_rule, "by_township": by_town, "weekly": dict(sorted(weekly.items())),
            "on_time_rate": round(on_time / due, 4) if due else None, "due": due, "on_time": on_time}


def for_household(session: Session, *, actor: Actor, household_id: int) -> list[MonitorWarning]:
    """A household's warnings, newest first (its part of 一户一条救助链)."""
    actor.require("monitoring.read")
    stmt = in_scope(select(MonitorWarning), actor, area=MonitorWarning.area_code).where(
        MonitorWarning.household_id == household_id)
    return list(session.scalars(stmt.order_by(MonitorWarning.first_seen_on.desc(), MonitorWarning.id.desc())))

LISTENERS = (doubles.raise_warnings,)  # imported for its registration: linkage's double registrations → 重复
