"""Acting on the active step: investigation, verification, first review, 公示 and objections, confirmation,
spot check, 一事一议 and the decision. Each action checks role, scope, version and separation of duties."""

from __future__ import annotations

import math
import secrets
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.areas.codes import county_of
from doudi.auth.permissions import Actor
from doudi.cases import consistency
from doudi.cases import service as svc
from doudi.cases.models import Case, CaseStep, ProgramDecision
from doudi.cases.notices import PROGRAM_LABELS
from doudi.core.errors import Conflict, FieldError, PermissionDenied, ValidationFailed

STEP_ACTION = {
    "investigation_start": "case.investigate", "home_visit": "case.investigate", "county_visit": "case.confirm",
    "verification": "verification.request", "first_review": "case.review", "publicity": "case.publicize",
    "democratic_review": "case.publicize", "confirmation": "case.confirm", "spot_check": "case.spot_check",
    "collective_decision": "case.confirm", "decision": "case.decide", "termination_publicity": "case.publicize",
}
DECISIONS = {"approve", "reject"}
OBJECTION_BASIS = "审核确认办法第十九条：公示有异议的，重新调查或民主评议"


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(field, message)])


def _level_ok(actor: Actor, step: CaseStep) -> None:
    # A county-level step needs a county-level (or higher) user, even if the role would allow it in a township.
    if step.level == "county" and not actor.system and len(actor.area_code) > 6:
        raise PermissionDenied(f"“{svc.label(step.key)}”须由县级民政部门办理")


def _participants(case: Case, keys: set[str]) -> set[int]:
    return {s.performed_by for s in case.steps if s.key in keys and s.status == "done" and s.performed_by}


def _separation(case: Case, actor: Actor) -> None:
    """The user who investigated or first-reviewed a case cannot confirm it (configurable per pack)."""
    if not svc.rules(case).separation_of_duties or actor.user_id is None:
        return
    investigators = {int(i) for s in case.steps if s.key in {"home_visit", "investigation_start"}
                     for i in list((s.data or {}).get("investigator_ids", []))}  # type: ignore[call-overload]
    if actor.user_id in _participants(case, {"home_visit", "first_review", "investigation_start"}) | investigators:
        raise PermissionDenied("职责分离：参与调查或初审的人员不能审核确认本案")


def _amount(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise _bad(field, "金额格式不正确") from None
    if amount < 0:
        raise _bad(field, "金额不能为负")
    return amount.quantize(Decimal("0.01"))


def _opinions(case: Case, data: dict[str, Any], field: str) -> dict[str, dict[str, Any]]:
    opinions = data.get("opinions") or {}
    errors = []
    for program in case.programs:
        op = opinions.get(program)
        if not isinstance(op, dict) or op.get("decision") not in DECISIONS:
            errors.append(FieldError(f"{field}.{program}.decision", "须选择同意或不同意"))
        elif op["decision"] == "reject" and not str(op.get("reasons", "")).strip():
            errors.append(FieldError(f"{field}.{program}.reasons", "不同意须写明理由"))
    if errors:
        raise ValidationFailed(errors)
    return opinions


def _decision_row(case: Case, program: str) -> ProgramDecision:
    row = next((d for d in case.decisions if d.program == program), None)
    if row is None:
        row = ProgramDecision(case_id=case.id, program=program)
        case.decisions.append(row)
    return row


def act(session: Session, *, actor: Actor, case_id: int, step_key: str, action: str, data: dict[str, Any],
        version: int | None, today: date | None = None) -> Case:
    """Perform `action` on the case's active step `step_key`; returns the case with the next step active."""
    today = today or date.today()
    case = svc.get_case(session, actor=actor, case_id=case_id)
    actor.require(STEP_ACTION.get(step_key, "case.review"))  # permission first: a refusal says nothing of state
    svc.check_version(session, case, version)
    step = svc.active_step(case)
    if case.status != "open" or step is None or step.key != step_key:
        current = svc.label(step.key) if step else "无"
        raise Conflict(f"当前环节是“{current}”，不能办理“{svc.label(step_key)}”；请刷新页面")
    _level_ok(actor, step)
    handler = HANDLERS.get(step.key)
    if handler is None:
        raise Conflict(f"“{svc.label(step.key)}”不能在此办理")
    handler(session, actor, case, step, action, data, today)
    case.updated_at = svc.now()  # bumps the version even when only steps changed
    session.flush()
    return case


def _finish(session: Session, actor: Actor, case: Case, step: CaseStep, outcome: str, data: dict[str, Any],
            message: str, today: date, public: bool = True, overrides: list[dict[str, Any]] | None = None) -> None:
    svc.complete(session, step, actor=actor, outcome=outcome, data=data)
    svc.event(session, case, actor=actor, kind=f"step.{step.key}", message=message, public=public,
              data={"outcome": outcome})
    after: dict[str, Any] = {"outcome": outcome, **{
        k: v for k, v in data.items() if k in {"decision", "opinions", "result", "investigators", "mode"}}}
    if overrides:  # approvals against the engine's assessment, with the reason and the level that took them
        after["overrides"] = overrides
        svc.event(session, case, actor=actor, kind="override", public=False,
                  message="与系统测算结果不一致的意见：" + "；".join(
                      f"{PROGRAM_LABELS.get(o['program'], o['program'])}（{o['level_label']}）：{o['reason']}"
                      for o in overrides))
    svc.record(session, case, actor=actor, action=f"case.step.{step.key}", after=after)
    svc.activate_next(session, case, today=today)
    if svc.active_step(case) is None and case.status == "open":
        case.status, case.closed_at = "decided", svc.now()


def _investigation_start(session: Session, actor: Actor, case: Case, step: CaseStep, action: str,
                         data: dict[str, Any], today: date) -> None:
    planned = data.get("planned_visit_on") or today.isoformat()
    _finish(session, actor, case, step, "started", {"planned_visit_on": planned,
                                                   "investigator_ids": data.get("investigator_ids", [])},
            f"已启动家庭经济状况调查，计划入户 {planned}", today)


def _home_visit(session: Session, actor: Actor, case: Case, step: CaseStep, action: str, data: dict[str, Any],
                today: date) -> None:
    rules = svc.rules(case)
    names = [n.strip() for n in data.get("investigators", []) if str(n).strip()]
    if len(set(names)) < rules.min_investigators:
        raise _bad("investigators", f"每组调查人员不得少于 {rules.min_investigators} 人（审核确认办法第十六条）")
    mode = data.get("mode", "onsite")
    if mode not in {"onsite", "phone", "video"}:
        raise _bad("mode", "调查方式应为 入户/电话/视频")
    if mode != "onsite" and not str(data.get("emergency", "")).strip():
        raise _bad("emergency", "非接触方式调查仅限重大突发事件期间，须写明事件")
    if not str(data.get("findings", "")).strip():
        raise _bad("findings", "须填写调查结论")
    record = {"investigators": names, "investigator_ids": data.get("investigator_ids", []), "mode": mode,
              "visit_on": data.get("visit_on", today.isoformat()), "findings": data["findings"],
              "emergency": data.get("emergency", "")}
    _finish(session, actor, case, step, "visited", record, f"完成入户调查（{len(names)} 人）", today)


def _county_visit(session: Session, actor: Actor, case: Case, step: CaseStep, action: str, data: dict[str, Any],
                  today: date) -> None:
    if not str(data.get("findings", "")).strip():
        raise _bad("findings", "须填写县级入户核查结论")
    _finish(session, actor, case, step, "visited", {"findings": data["findings"]}, "县级民政部门完成入户核查",
            today, public=False)


def _verification(session: Session, actor: Actor, case: Case, step: CaseStep, action: str, data: dict[str, Any],
                  today: date) -> None:
    from doudi.cases.verify_hook import latest_request

    req = latest_request(session, case=case)
    if req is not None and not data.get("report_id"):
        data = {**data, "report_id": req.id}
    conclusion = data.get("conclusion")
    if conclusion not in {"consistent", "discrepancy", "no_record"}:
        raise _bad("conclusion", "核对结论应为 一致/存在差异/无记录")
    _finish(session, actor, case, step, conclusion, {"conclusion": conclusion, "note": data.get("note", ""),
                                                    "report_id": data.get("report_id")},
            "完成家庭经济状况信息核对", today)


def _first_review(session: Session, actor: Actor, case: Case, step: CaseStep, action: str, data: dict[str, Any],
                  today: date) -> None:
    opinions = _opinions(case, data, "opinions")
    errors: list[FieldError] = []
    for program, op in opinions.items():
        if program not in case.programs:
            continue
        row = _decision_row(case, program)
        row.proposal = op["decision"]
        if "monthly_amount" in op and op["monthly_amount"] not in (None, ""):
            row.monthly_amount = _amount(op["monthly_amount"], f"opinions.{program}.monthly_amount")
        if op.get("reasons"):
            row.reasons = [str(op["reasons"])]
        if op["decision"] == "approve":
            errors += consistency.check_approval(case, row, op, actor=actor, field_prefix=f"opinions.{program}",
                                                 override_level=svc.rules(case).override_level, deciding=False)
        else:
            consistency.clear_override(row)
    if errors:
        raise ValidationFailed(errors)
    summary = "；".join(f"{PROGRAM_LABELS.get(p, p)}：{'同意' if o['decision'] == 'approve' else '不同意'}"
                       for p, o in opinions.items())
    _finish(session, actor, case, step, "reviewed", {"opinions": opinions}, f"乡镇提出初审意见（{summary}）", today,
            overrides=consistency.overrides(case))


def _publicity(session: Session, actor: Actor, case: Case, step: CaseStep, action: str, data: dict[str, Any],
               today: date) -> None:
    if action == "objection":
        resolution = data.get("resolution")
        if resolution not in {"reinvestigate", "democratic_review"}:
            raise _bad("resolution", "公示异议的处理方式应为 重新调查 或 民主评议（审核确认办法第十九条）")
        if not str(data.get("content", "")).strip():
            raise _bad("content", "须记录异议内容")
        svc.complete(session, step, actor=actor, outcome="objection", data={"objection": data})
        _new_round(session, case, step, resolution)
        svc.event(session, case, actor=actor, kind="objection",
                  message=f"公示期间收到异议，{'重新组织调查' if resolution == 'reinvestigate' else '开展民主评议'}")
        svc.record(session, case, actor=actor, action="case.objection", extra={"resolution": resolution})
        svc.activate_next(session, case, today=today)
        return
    assert step.due_on is not None
    if today < step.due_on:
        raise Conflict(f"公示期至 {step.due_on} 届满，届满前不能结束公示")
    _finish(session, actor, case, step, "no_objection", {"closed_on": today.isoformat()}, "公示期满无异议", today)


def _new_round(session: Session, case: Case, publicity: CaseStep, resolution: str) -> None:
    """After an objection: re-investigate (or hold 民主评议), then a new first review and a new 公示."""
    later = [s for s in case.steps if s.seq > publicity.seq]
    redo = ["home_visit"] if resolution == "reinvestigate" else ["democratic_review"]
    redo += ["first_review", "publicity"]
    for s in later:
        s.seq += len(redo)
    for i, key in enumerate(redo):
        session.add(CaseStep(case_id=case.id, seq=publicity.seq + i + 1, key=key, round=publicity.round + 1,
                             level="township", status="waiting", basis=OBJECTION_BASIS))
    session.flush()
    session.refresh(case)


def _democratic_review(session: Session, actor: Actor, case: Case, step: CaseStep, action: str,
                       data: dict[str, Any], today: date) -> None:
    participants = [p for p in data.get("participants", []) if str(p).strip()]
    least = svc.rules(case).min_review_participants
    if len(participants) < least or not str(data.get("result", "")).strip():
        raise _bad("participants", f"民主评议须记录参加人员（至少 {least} 人）和评议结果")
    _finish(session, actor, case, step, "reviewed", {"participants": participants, "result": data["result"]},
            "完成民主评议", today)


def _temporary_limit(session: Session, actor: Actor, case: Case, opinion: dict[str, Any], today: date) -> None:
    """暂行办法 Art. 48: the approval level follows the amount actually granted, not the one proposed."""
    from doudi.cases.models import TemporaryGrant
    from doudi.cases.temporary import COLLECTIVE_NEEDED, approval_level
    from doudi.registry.models import Household

    amount = _amount(opinion.get("monthly_amount") or 0, "opinions.temporary_assistance.monthly_amount")
    hh = session.get(Household, case.household_id) if case.household_id else None
    level = approval_level(case.area_code, hh.hukou_type if hh else "rural", amount, today)
    if level != "township" and len(actor.area_code) > 6 and not actor.system:
        raise PermissionDenied(f"临时救助 {amount} 元超出乡镇审批额度，须报县级民政部门审批")
    decided = any(s.key == "collective_decision" and s.status == "done" for s in case.steps)
    if level == "case_by_case" and not decided:
        raise ValidationFailed([FieldError("opinions.temporary_assistance.monthly_amount", COLLECTIVE_NEEDED)])
    grant = session.scalar(select(TemporaryGrant).where(TemporaryGrant.case_id == case.id))
    if grant is not None:
        grant.amount, grant.approval_level = amount, level


def _confirmation(session: Session, actor: Actor, case: Case, step: CaseStep, action: str, data: dict[str, Any],
                  today: date) -> None:
    _separation(case, actor)
    opinions = _opinions(case, data, "opinions")
    if opinions.get("temporary_assistance", {}).get("decision") == "approve":
        _temporary_limit(session, actor, case, opinions["temporary_assistance"], today)
    errors: list[FieldError] = []
    for program in case.programs:
        op = opinions[program]
        row = _decision_row(case, program)
        row.outcome = "approved" if op["decision"] == "approve" else "rejected"
        if op.get("monthly_amount") not in (None, ""):
            row.monthly_amount = _amount(op["monthly_amount"], f"opinions.{program}.monthly_amount")
        if op.get("reasons"):
            row.reasons = [str(op["reasons"])]
        errors += consistency.approval_problems(case, row, op, actor, f"opinions.{program}")
        row.decided_by, row.decided_on = actor.user_id, today
    if errors:
        raise ValidationFailed(errors)
    level = "乡镇人民政府" if step.level == "township" else "县级民政部门"
    _finish(session, actor, case, step, "confirmed", {"opinions": opinions}, f"{level}作出审核确认意见", today,
            overrides=consistency.overrides(case))


def sample_for_spot_check(session: Session, case: Case, today: date) -> bool:
    """Draw at random, but never let the county's share of checked 特困 cases this year fall below the minimum.

    The draw uses the operating system's randomness, so a township cannot work out in advance which of its
    cases will escape the check."""
    share = float(svc.rules(case).spot_check_share)
    county = county_of(case.area_code)
    year_start = date(today.year, 1, 1)
    steps = select(CaseStep.status, CaseStep.outcome).join(Case, Case.id == CaseStep.case_id).where(
        CaseStep.key == "spot_check", Case.area_code.startswith(county), Case.accepted_on >= year_start,
        CaseStep.case_id != case.id, CaseStep.status.in_(["active", "done", "skipped"]))
    rows = session.execute(steps).all()
    total = len(rows) + 1
    chosen = sum(1 for status, outcome in rows if outcome != "not_sampled" and status != "waiting")
    if chosen < math.ceil(share * total):
        return True
    return secrets.SystemRandom().random() < share


def _spot_check(session: Session, actor: Actor, case: Case, step: CaseStep, action: str, data: dict[str, Any],
                today: date) -> None:
    result = data.get("result")
    if result not in {"upheld", "overturned"}:
        raise _bad("result", "抽查结论应为 维持 或 纠正")
    if result == "overturned":
        errors: list[FieldError] = []
        for program, op in _opinions(case, data, "opinions").items():
            row = _decision_row(case, program)
            row.outcome = "approved" if op["decision"] == "approve" else "rejected"
            if op.get("monthly_amount") not in (None, ""):
                row.monthly_amount = _amount(op["monthly_amount"], f"opinions.{program}.monthly_amount")
            if op.get("reasons"):
                row.reasons = [str(op["reasons"])]
            errors += consistency.approval_problems(case, row, op, actor, f"opinions.{program}")
            row.decided_by, row.decided_on = actor.user_id, today
        if errors:
            raise ValidationFailed(errors)
    _finish(session, actor, case, step, result, {"result": result, "note": data.get("note", "")},
            "县级民政部门完成抽查" + ("（纠正乡镇意见）" if result == "overturned" else ""), today,
            overrides=consistency.overrides(case))


def _collective_decision(session: Session, actor: Actor, case: Case, step: CaseStep, action: str,
                         data: dict[str, Any], today: date) -> None:
    from doudi.cases.models import TemporaryGrant

    participants = [p for p in data.get("participants", []) if str(p).strip()]
    least = svc.rules(case).min_review_participants
    if len(participants) < least or data.get("decision") not in DECISIONS or not data.get("meeting_on"):
        raise _bad("participants", f"一事一议须记录会议日期、参加人员（至少 {least} 人）和决定")
    grant = session.scalar(select(TemporaryGrant).where(TemporaryGrant.case_id == case.id))
    if grant is not None:
        grant.collective = {"meeting_on": data["meeting_on"], "participants": participants,
                            "decision": data["decision"], "amount": str(data.get("amount", grant.amount))}
        if data.get("amount"):
            grant.amount = _amount(data["amount"], "amount")
    row = _decision_row(case, "temporary_assistance")
    row.outcome = "approved" if data["decision"] == "approve" else "rejected"
    row.monthly_amount = grant.amount if grant is not None else row.monthly_amount
    consistency.check_single_approval(case, row, data, actor)
    row.decided_by, row.decided_on = actor.user_id, today
    _finish(session, actor, case, step, data["decision"], {"participants": participants,
                                                           "meeting_on": data["meeting_on"]},
            "县级困难群众基本生活保障工作协调机制“一事一议”作出决定", today, overrides=consistency.overrides(case))


def _decision(session: Session, actor: Actor, case: Case, step: CaseStep, action: str, data: dict[str, Any],
              today: date) -> None:
    from doudi.cases.decisions import issue_decision

    issue_decision(session, actor=actor, case=case, today=today)
    _finish(session, actor, case, step, "issued", {}, "已作出决定并告知申请人", today)


HANDLERS = {
    "investigation_start": _investigation_start, "home_visit": _home_visit, "county_visit": _county_visit,
    "verification": _verification, "first_review": _first_review, "publicity": _publicity,
    "democratic_review": _democratic_review, "confirmation": _confirmation, "spot_check": _spot_check,
    "collective_decision": _collective_decision, "decision": _decision,
}



# The emergency path's handlers live in their own module (it imports this one, hence the late import).
from doudi.cases.temporary import emergency_grant, payment  # noqa: E402

HANDLERS.update({"emergency_grant": emergency_grant, "payment": payment})
STEP_ACTION.update({"emergency_grant": "case.confirm", "payment": "case.decide"})
