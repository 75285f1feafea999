"""Applications: submission (staff, citizen, proxy, active discovery), acceptance (受理), extension, withdrawal."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.areas.models import Area
from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.cases import evaluation
from doudi.cases import service as svc
from doudi.cases.models import Case, CaseStatus, CaseStep, ProgramDecision, StepLevel, StepStatus, TemporaryGrant
from doudi.cases.notices import PROGRAM_LABELS
from doudi.cases.procedure import case_due, plan
from doudi.cases.schemas import ApplicationCreate
from doudi.cases.verify_hook import authorise_and_request
from doudi.core import clock
from doudi.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from doudi.policy.params import load_pack
from doudi.policy.registry_frames import months_back
from doudi.registry import writes
from doudi.registry.models import Household, IncomeFact, Membership, Person
from doudi.registry.schemas import HouseholdCreate, MemberCreate

PROXY_LABELS = {"relative": "亲属", "friend": "朋友", "village_cadre": "村（居）干部", "other": "其他"}


def _case_no(area_code: str) -> str:
    return f"SQ{clock.today():%Y%m%d}{area_code[6:9]}{secrets.token_hex(3).upper()}"


def _validate(session: Session, actor: Actor, data: ApplicationCreate, *, online: bool) -> str:
    problems = [FieldError(f, m) for f, m in data.problems()]
    if problems:
        raise ValidationFailed(problems)
    if online:
        # A citizen may apply in any county (at the household's hukou place); the area must be a real village.
        if data.household_id is not None:
            raise ValidationFailed([FieldError("household_id", "网上申请请填写家庭成员信息")])
        area = session.get(Area, data.area_code or "")
        if area is None or area.level != "village":
            raise ValidationFailed([FieldError("area_code", "请选择所在村（居）")])
        return area.code
    if data.household_id is not None:
        hh = session.get(Household, data.household_id)
        if hh is None or not actor.sees(hh.area_code):
            raise NotFound(f"household {data.household_id}")
        return hh.area_code
    assert data.area_code is not None
    if not actor.sees(data.area_code):
        raise ValidationFailed([FieldError("area_code", f"区划 {data.area_code} 不在您的辖区内")])
    return data.area_code


def submit(session: Session, *, actor: Actor, data: ApplicationCreate, portal_phone: str = "") -> Case:
    """Register an application (not yet accepted): from staff, or online (portal_phone) by a citizen or proxy."""
    online = bool(portal_phone)
    if not online and not actor.system:
        actor.require("case.create")
    area = _validate(session, actor, data, online=online)
    case = Case(
        case_no=_case_no(area), kind="emergency" if data.temporary_need and data.temporary_need.kind == "emergency"
        else "standard", household_id=data.household_id, area_code=area, status=CaseStatus.SUBMITTED,
        channel=data.channel,
        applicant_name=data.applicant_name, applicant_id_number=data.applicant_id_number,
        applicant_phone=data.applicant_phone, proxy_name=data.proxy_name, proxy_phone=data.proxy_phone,
        proxy_relation=data.proxy_relation, programs=list(dict.fromkeys(data.programs)),
        declared=data.model_dump(mode="json"), close_relative=data.close_relative,
        close_relative_note=data.close_relative_note, created_by=actor.user_id, version=1,
        portal_phone=portal_phone,
    )
    session.add(case)
    session.flush()
    who = f"{data.proxy_name}（{PROXY_LABELS.get(data.proxy_relation, '')}代为申请）" if data.channel == "proxy" \
        else data.applicant_name
    svc.event(session, case, actor=actor, kind="submitted", message=f"{who}提交申请")
    if data.close_relative:
        # 审核确认办法 Art. 11: registered separately; the county visits the household itself (Art. 20).
        svc.event(session, case, actor=actor, kind="close_relative", public=False,
                  message=f"近亲属关系单独登记备案：{data.close_relative_note}")
    svc.record(session, case, actor=actor, action="case.submit",
               after={"case_no": case.case_no, "channel": case.channel, "programs": case.programs})
    return case


def _household_for(session: Session, actor: Actor, case: Case, on: date) -> Household:
    if case.household_id is not None:
        hh = session.get(Household, case.household_id)
        assert hh is not None
        return hh
    data = ApplicationCreate.model_validate(case.declared)
    head = next(m for m in data.members if m.relation.value == "head")
    person = session.scalar(select(Person).where(Person.id_number == head.id_number))
    if person is not None:
        # The head's current household in this area is the one applying; one elsewhere is not revealed
        # (that would tell the user the ID is registered in another county): a household is registered here.
        for hh_id in session.scalars(select(Membership.household_id).where(Membership.person_id == person.id,
                                                                            Membership.valid_to.is_(None))):
            hh = session.get(Household, hh_id)
            if hh is not None and actor.sees(hh.area_code):
                return hh
    members = [MemberCreate.model_validate(m.model_dump(exclude={"monthly_income", "authorised"}))
               for m in data.members]
    assert data.area_code and data.hukou_type
    return writes.create_household(session, actor=actor, data=HouseholdCreate(
        area_code=data.area_code, address=data.address, hukou_type=data.hukou_type, members=members),
        members_since=on)


def _record_declared_income(session: Session, actor: Actor, case: Case, hh: Household, on: date) -> None:
    data = ApplicationCreate.model_validate(case.declared)
    if not data.members:
        return
    by_number = {m.person.id_number: m.person_id for m in hh.members if m.valid_to is None}
    # Declared monthly averages cover exactly the income window the engine averages over
    # ([on − N months, on − 1 day], N from the pack; Guangdong uses 6 months).
    months = int(load_pack(case.area_code).value("dibao.income.averaging_months", on=on))
    start, end = months_back(on, months), on - timedelta(days=1)
    for m in data.members:
        pid = by_number.get(m.id_number)
        for kind, amount in m.monthly_income.model_dump().items():
            if pid is not None and Decimal(amount) > 0:
                session.add(IncomeFact(household_id=hh.id, person_id=pid, kind=kind, amount=Decimal(amount),
                                       source_kind="declared", source_key="application", period_start=start,
                                       period_end=end, recorded_by=actor.user_id, note=f"申请 {case.case_no}"))
    session.flush()


def accept(session: Session, *, actor: Actor, case_id: int, version: int | None = None,
           on: date | None = None) -> Case:
    """受理: register the household if new, evaluate every program, plan the steps and start the clock.

    An emergency need (急难型) is routed to its own fast-path case, so the aid is not held up by the full
    procedure; any other programs the household may qualify for continue in a linked standard case
    (一门受理、分类办理)."""
    case = svc.get_case(session, actor=actor, case_id=case_id, action="case.accept")
    svc.check_version(session, case, version)
    if case.status != CaseStatus.SUBMITTED:
        raise Conflict("只有待受理的申请可以受理")
    today = on or clock.today()
    hh = _household_for(session, actor, case, today)
    case.household_id, case.area_code = hh.id, hh.area_code
    _record_declared_income(session, actor, case, hh, today)
    authorise_and_request(session, actor=actor, case=case, household=hh, on=today)
    data = ApplicationCreate.model_validate(case.declared)
    need = data.temporary_need.model_dump(mode="json") if data.temporary_need else None
    result = evaluation.evaluate_household(session, household_id=hh.id, on=today, temporary_need=need)
    programs = list(dict.fromkeys([*case.programs, *evaluation.proposed_programs(result)]))
    if need and "temporary_assistance" not in programs:
        programs.append("temporary_assistance")
    if need and need["kind"] == "emergency":
        others = [p for p in programs if p != "temporary_assistance"]
        _open(session, actor, case, ["temporary_assistance"], "emergency", result, need, today)
        if others:
            sibling = Case(case_no=_case_no(case.area_code), kind="standard", household_id=hh.id,
                           area_code=hh.area_code, status=CaseStatus.SUBMITTED, channel=case.channel,
                           applicant_name=case.applicant_name, applicant_id_number=case.applicant_id_number,
                           applicant_phone=case.applicant_phone, proxy_name=case.proxy_name,
                           proxy_phone=case.proxy_phone, proxy_relation=case.proxy_relation, programs=others,
                           declared={**case.declared, "temporary_need": None}, close_relative=case.close_relative,
                           close_relative_note=case.close_relative_note, created_by=actor.user_id, version=1,
                           portal_phone=case.portal_phone, linked_case_id=case.id)
            session.add(sibling)
            session.flush()
            _open(session, actor, sibling, others, "standard", result, None, today)
            case.linked_case_id = sibling.id
            svc.event(session, case, actor=actor, kind="routed",
                      message=f"急难救助先行办理；其他救助项目转入案件 {sibling.case_no} 按程序办理")
        return case
    _open(session, actor, case, programs or ["dibao"], "standard", result, need, today)
    return case


def _open(session: Session, actor: Actor, case: Case, programs: list[str], kind: str, result: dict[str, Any],
          need: dict[str, Any] | None, today: date) -> None:
    """Plan the case's steps for its programs, record the engine's proposals and start the first step."""
    rules = svc.rules(case, today)
    case.programs, case.proposed, case.kind = programs, result, kind
    case.delegated, case.pack_version = bool(rules.delegated), rules.pack_version
    case.accepted_on, case.status = today, "open"
    case.due_on = case_due(programs, accepted=today, delegated=case.delegated, rules=rules,
                           calendar=svc.calendar_for(case.area_code))
    outcomes = result.get("programs", {})
    approval_level = outcomes.get("temporary_assistance", {}).get("approval_level") if need else None
    for i, p in enumerate(plan(programs, rules=rules, kind=kind, delegated=case.delegated,
                               close_relative=case.close_relative, approval_level=approval_level)):
        session.add(CaseStep(case_id=case.id, seq=i + 1, key=p.key, level=p.level, basis=p.basis,
                            status=StepStatus.WAITING))
    session.flush()
    session.refresh(case)
    svc.complete(session, case.steps[0], actor=actor, outcome="accepted", data={"accepted_on": today.isoformat()})
    # What the household's evaluation notes (members counted from before an import, date unknown) goes with
    # every program's decision, so the decision and its notice say so.
    notes = [str(n) for n in result.get("household", {}).get("notes", [])]
    for program in programs:
        out = outcomes.get(program, {})
        session.add(ProgramDecision(case_id=case.id, program=program,
                                    monthly_amount=Decimal(str(out.get("monthly_amount") or 0)),
                                    reasons=[*(r["text"] if isinstance(r, dict) else str(r)
                                               for r in out.get("reasons", [])), *notes]))
    if need:
        session.add(TemporaryGrant(case_id=case.id, kind=need["kind"], amount=Decimal(str(need["amount"])),
                                   approval_level=approval_level or "county",
                                   fund="township_reserve" if approval_level == "township" else "county"))
    session.flush()
    session.refresh(case)
    svc.activate_next(session, case, today=today)
    limit = f"{rules.emergency_payment_hours} 小时内先行救助" if kind == "emergency" else \
        f"办理时限至 {case.due_on}"
    svc.event(session, case, actor=actor, kind="accepted",
              message=f"已受理，{limit}；办理项目：{'、'.join(PROGRAM_LABELS.get(p, p) for p in programs)}")
    svc.record(session, case, actor=actor, action="case.accept",
               after={"programs": programs, "due_on": str(case.due_on), "delegated": case.delegated, "kind": kind})
    session.flush()


def return_for_completion(session: Session, *, actor: Actor, case_id: int, missing: str,
                          version: int | None = None) -> Case:
    """材料不齐: tell the applicant once, in full, what is missing (Art. 10); the case stays submitted."""
    case = svc.get_case(session, actor=actor, case_id=case_id, action="case.accept")
    svc.check_version(session, case, version)
    if case.status != CaseStatus.SUBMITTED:
        raise Conflict("只有待受理的申请可以退回补正")
    case.status = CaseStatus.NEEDS_INFO
    svc.event(session, case, actor=actor, kind="needs_info", message=f"请补齐材料：{missing}")
    svc.record(session, case, actor=actor, action="case.needs_info", extra={"missing": missing})
    return case


def resubmit(session: Session, *, case: Case, actor: Actor | str, note: str, version: int | None = None) -> Case:
    """The applicant has supplied what was missing."""
    svc.check_version(session, case, version)
    if case.status != CaseStatus.NEEDS_INFO:
        raise Conflict("该申请不需要补正")
    case.status = CaseStatus.SUBMITTED
    svc.event(session, case, actor=actor, kind="resubmitted", message=f"已补齐材料：{note}")
    _audit_plain(session, case, actor, "case.resubmit", note)
    return case


def extend(session: Session, *, actor: Actor, case_id: int, reason: str, version: int | None = None) -> Case:
    """Extend the deadline to the statutory maximum (45 working days) for a recorded special reason."""
    case = svc.get_case(session, actor=actor, case_id=case_id, action="case.review")
    svc.check_version(session, case, version)
    if case.status != CaseStatus.OPEN or case.accepted_on is None:
        raise Conflict("只有办理中的案件可以延期")
    if len(reason.strip()) < 4:
        raise ValidationFailed([FieldError("reason", "须写明延期的特殊情况（如公示有异议、人户分离、调查难度大）")])
    rules = svc.rules(case)
    new_due = svc.calendar_for(case.area_code).add_workdays(case.accepted_on, rules.total_workdays_max)
    if case.extended_to is not None:
        raise Conflict("该案件已延期，不能再次延期")
    case.extended_to, case.extension_reason = new_due, reason.strip()
    for s in case.steps:
        if s.status in {StepStatus.ACTIVE, StepStatus.WAITING} and s.due_on == case.due_on:
            s.due_on = new_due
    svc.event(session, case, actor=actor, kind="extended", message=f"办理时限延长至 {new_due}：{reason}")
    svc.record(session, case, actor=actor, action="case.extend", before={"due_on": str(case.due_on)},
               after={"extended_to": str(new_due), "reason": reason})
    return case


def withdraw(session: Session, *, case: Case, actor: Actor | str, reason: str, version: int | None = None) -> Case:
    """The applicant withdraws; the case closes with the reason recorded. Staff who accept applications may
    register a withdrawal at any step before the decision; a user without that right (the village assistant)
    only before acceptance or while the case is at a village-level step, not once it has reached the
    township or county (初审, 审核确认)."""
    svc.check_version(session, case, version)
    if case.status in {CaseStatus.DECIDED, CaseStatus.CLOSED, CaseStatus.WITHDRAWN}:
        raise Conflict("案件已办结")
    if isinstance(actor, Actor) and not actor.can("case.accept") and case.status not in {
            CaseStatus.SUBMITTED, CaseStatus.NEEDS_INFO}:
        current = [s for s in case.steps if s.status == StepStatus.ACTIVE]
        if any(s.level != StepLevel.VILLAGE for s in current):
            label = "、".join(svc.label(s.key) for s in current)
            raise PermissionDenied(f"案件已进入“{label}”环节，撤回申请须由乡镇或县级经办人办理")
    case.status, case.closed_at = CaseStatus.WITHDRAWN, svc.now()
    for s in case.steps:
        if s.status in {StepStatus.ACTIVE, StepStatus.WAITING}:
            s.status = StepStatus.SKIPPED
    svc.event(session, case, actor=actor, kind="withdrawn", message=f"申请已撤回：{reason}")
    _audit_plain(session, case, actor, "case.withdraw", reason)
    return case


def _audit_plain(session: Session, case: Case, actor: Actor | str, action: str, note: str) -> None:
    who = actor if isinstance(actor, Actor) else Actor(username=actor, area_code=case.area_code)
    audit.record(session, actor=who, action=action, object_type="case", object_id=case.id,
                 area_code=case.area_code, extra={"note": note})


def proposal_summary(case: Case) -> list[dict[str, Any]]:
    """Per program: eligible, amount and reasons proposed by the engine at acceptance."""
    out = []
    programs: dict[str, Any] = dict((case.proposed or {}).get("programs", {}))  # type: ignore[call-overload]
    for key, res in programs.items():
        out.append({"program": key, "eligible": res.get("eligible"), "amount": res.get("monthly_amount"),
                    "reasons": res.get("reasons", [])})
    return out
