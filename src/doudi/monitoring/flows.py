"""Coordination of monitoring with other domains: a discovery lead becomes an application in one action (through
the case workflow's own submission, channel 主动发现), and the lead's warning is disposed with it. Never commits."""

from __future__ import annotations

from datetime import date
from typing import get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases import applications
from doudi.cases.models import Case
from doudi.cases.schemas import ApplicationCreate, Program
from doudi.core.errors import Conflict, FieldError, ValidationFailed
from doudi.monitoring import service
from doudi.monitoring.models import Disposition, MonitorWarning, WarningStatus
from doudi.registry.models import Membership, Person

KNOWN_PROGRAMS = set(get_args(Program))


def _programs(w: MonitorWarning) -> list[str]:
    """The programs the lead's compared values name (遗漏: the programs the assessment found), else none: the
    application's assessment suggests them."""
    compared = w.values.get("compared", []) if isinstance(w.values, dict) else []
    out: list[str] = []
    for item in compared if isinstance(compared, list) else []:
        if isinstance(item, str) and item.startswith("programs="):
            out += [p for p in item.removeprefix("programs=").split(",") if p in KNOWN_PROGRAMS]
    return out


def _head(session: Session, household_id: int) -> Person | None:
    stmt = (select(Person).join(Membership, Membership.person_id == Person.id)
            .where(Membership.household_id == household_id, Membership.relation == "head",
                   Membership.valid_to.is_(None)))
    return session.scalars(stmt).first()


def start_application(session: Session, *, actor: Actor, warning_id: int, version: int | None, today: date
                      ) -> Case:
    """Turn a lead (or any warning whose rule allows “start an application”) into an application of channel
    主动发现 for the household, and dispose the warning with it; the case id is kept on the warning."""
    actor.require("case.create")
    w = service.owned_warning(session, actor=actor, warning_id=warning_id)
    if w.status == WarningStatus.CLOSED or w.case_id is not None:
        raise Conflict(f"预警 {w.id} 已关闭或已转为申请")
    if w.household_id is None:
        raise ValidationFailed([FieldError(
            "household_id", f"{w.person_name or '该对象'} 仅见于部门数据、尚未登记家庭：请先入户核实并登记家庭，"
                            "再从家庭页发起申请")])
    head = _head(session, w.household_id)
    name = w.person_name or (head.name if head else "")
    number = w.id_number if w.person_name else (head.id_number if head else "")
    data = ApplicationCreate(household_id=w.household_id, channel="discovery", applicant_name=name or "待核实",
                             applicant_id_number=number or "", programs=_programs(w),
                             note=f"主动发现（监测预警 {w.id}）：{w.reason}"[:1000])
    # Disposed first: a rule that does not allow an application refuses before anything is submitted.
    service.dispose(session, actor=actor, warning_id=w.id, version=version, disposition=Disposition.APPLICATION,
                    note="转为救助申请（主动发现）", today=today)
    case = applications.submit(session, actor=actor, data=data)
    w.case_id = case.id
    w.note = f"已转为救助申请 {case.case_no}"
    session.flush()
    return case
