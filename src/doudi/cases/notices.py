"""Decision and rejection notices: frozen content at issue time, rendered to PDF (WeasyPrint) on request."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from doudi.areas import service as areas
from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.auth.scope import get_in_area
from doudi.cases import service as svc
from doudi.cases.consistency import override_record, pays
from doudi.cases.labels import PROGRAM_LABELS as PROGRAM_LABELS  # re-exported: older imports
from doudi.cases.models import Case, Notice
from doudi.cases.procedure import next_month
from doudi.core import clock, storage
from doudi.core.errors import Conflict
from doudi.core.masking import mask_id
from doudi.db.versions import claim
from doudi.registry.models import Household
from doudi.web.render import templates

# Per program: the article a decision rests on, and what an approval means for payment.
PROGRAM_NOTICE: dict[str, tuple[str, str]] = {
    "dibao": ("《最低生活保障审核确认办法》第二十一条", "自作出确认同意决定之日下月起按月发放"),
    "dibao_marginal": ("《最低生活保障审核确认办法》第八条", "认定为最低生活保障边缘家庭，按规定享受相应救助帮扶"),
    "extreme_poverty": ("《特困人员认定办法》第十七条、第十八条", "从确认之日下月起给予救助供养待遇"),
    "rigid_expense_hardship": ("《刚性支出困难家庭认定办法》第七条、第十条",
                               "认定为刚性支出困难家庭，有效期一般不超过十二个月"),
    "temporary_assistance": ("《社会救助暂行办法》第四十八条", "一次性发放临时救助金"),
    "child_welfare": ("《国务院办公厅关于加强孤儿保障工作的意见》等", "自批准次月起按月发放基本生活费"),
    "disability_subsidies": ("国发〔2015〕52号", "自批准次月起按月发放"),
    "relative_poverty": ("江门市“两线合一”相对贫困人口认定", "纳入相对贫困人口帮扶"),
}
APPEAL = ("如对本决定不服，可以自收到本通知之日起六十日内依法申请行政复议，"
          "或者六个月内依法提起行政诉讼（审核确认办法第三十八条）。")


def generate_notice(session: Session, *, case: Case, kind: str, actor: Actor, today: date | None = None) -> Notice:
    """Freeze a notice's content (decisions, amounts, reasons, legal basis, appeal rights)."""
    today = today or clock.today()
    names = areas.names(session, codes=[case.area_code[:6], case.area_code[:9]])
    wanted = "approved" if kind == "approval" else "rejected"
    items = [{"program": d.program, "label": PROGRAM_LABELS.get(d.program, d.program),
              "amount": str(d.monthly_amount), "reasons": list(d.reasons or []),
              "basis": PROGRAM_NOTICE.get(d.program, ("", ""))[0],
              "payment": PROGRAM_NOTICE.get(d.program, ("", ""))[1] if kind == "approval" else "",
              "start": next_month(d.decided_on or today).isoformat()[:7]
              if kind == "approval" and d.program not in {"temporary_assistance", "dibao_marginal",
                                                            "rigid_expense_hardship", "relative_poverty"} else "",
              "paid": pays(d.program), "override": override_record(d) if kind == "approval" else None}
             for d in case.decisions if d.outcome == wanted]
    rules = svc.rules(case)
    due = svc.calendar_for(case.area_code).add_workdays(today, rules.rejection_notice_workdays) \
        if kind == "rejection" else None
    content: dict[str, Any] = {
        "title": "社会救助审核确认通知书" if kind == "approval" else "社会救助不予确认通知书",
        "applicant": case.applicant_name,
        "applicant_id": mask_id(case.applicant_id_number),
        "case_no": case.case_no,
        "county": names.get(case.area_code[:6], ""),
        "township": names.get(case.area_code[:9], ""),
        "items": items,
        "basis": "；".join(dict.fromkeys(str(i["basis"]) for i in items if i["basis"])),
        "appeal": APPEAL,
        "issued_on": today.isoformat(),
    }
    notice = Notice(case_id=case.id, area_code=case.area_code, kind=kind,
                    number=f"{case.case_no}-{kind[0].upper()}{secrets.token_hex(2)}",
                    issued_on=today, due_on=due, content=content)
    session.add(notice)
    session.flush()
    return notice


CHANGE_TITLES = {"increase": "社会救助金增发告知书", "decrease": "社会救助金减发告知书",
                 "gradual_exit": "最低生活保障渐退告知书", "terminate": "社会救助停发告知书"}


def change_notice(session: Session, *, enrollment: Any, change: Any, today: date) -> Notice:
    """A notice for an increase, reduction, gradual exit or termination, with its reason (审核确认办法 Art. 32)."""
    hh = session.get(Household, enrollment.household_id)
    head = next((m.person for m in hh.members if m.relation == "head" and m.valid_to is None), None) if hh else None
    names = areas.names(session, codes=[enrollment.area_code[:6], enrollment.area_code[:9]])
    content: dict[str, Any] = {
        "title": CHANGE_TITLES.get(change.kind, "社会救助变更告知书"),
        "applicant": head.name if head else "", "applicant_id": mask_id(head.id_number) if head else "",
        "case_no": hh.household_no if hh else "", "county": names.get(enrollment.area_code[:6], ""),
        "township": names.get(enrollment.area_code[:9], ""), "program": PROGRAM_LABELS.get(enrollment.program,
                                                                                      enrollment.program),
        "old_amount": str(change.old_amount), "new_amount": str(change.new_amount),
        "effective": change.effective_month.isoformat(), "reason": change.reason,
        "until": enrollment.gradual_exit_until.isoformat() if enrollment.gradual_exit_until else "",
        "basis": "《最低生活保障审核确认办法》第三十一至第三十三条" + ("；第三十二条：减发、停发应当告知并说明理由"
                                                              if change.kind in {"decrease", "terminate"} else ""),
        "appeal": APPEAL, "issued_on": today.isoformat(),
    }
    notice = Notice(enrollment_id=enrollment.id, area_code=enrollment.area_code, kind="change",
                    number=f"BG{today:%Y%m%d}{enrollment.id:06d}{secrets.token_hex(2)}", issued_on=today,
                    content=content)
    session.add(notice)
    session.flush()
    return notice


def render_pdf(notice: Notice) -> bytes:
    """The notice as a PDF (cached in storage by content)."""
    from weasyprint import HTML  # heavy (Pango, fonts): loaded only when a notice is printed

    html = templates.get_template("cases/notice.html").render(n=notice, c=notice.content)
    return bytes(HTML(string=html).write_pdf())


def pdf_for(notice: Notice) -> bytes:
    """Render once and keep the bytes, so a reprint is identical to the first print."""
    key = f"notice-{notice.number}.pdf"
    marker = storage.root() / "notices" / key
    if marker.exists():
        return marker.read_bytes()
    data = render_pdf(notice)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_bytes(data)
    return data


def get_notice(session: Session, *, actor: Actor, notice_id: int) -> Notice:
    """A notice in the actor's area (a case's or an enrollment's), or NotFound."""

    return get_in_area(session, Notice, notice_id, actor=actor, action="case.read", label="notice")


def mark_served(session: Session, *, actor: Actor, notice_id: int, on: date, version: int | None = None) -> Notice:
    """Record that a notice reached the applicant (a rejection must within 3 working days, Art. 21)."""
    actor.require("case.decide")
    notice = get_notice(session, actor=actor, notice_id=notice_id)
    claim(session, notice, version, label="该告知书")
    if notice.served_on is not None:
        raise Conflict("该告知书已登记送达")
    notice.served_on = on
    late = notice.due_on is not None and on > notice.due_on
    audit.record(session, actor=actor, action="case.notice_served", object_type="notice", object_id=notice.id,
                 area_code=notice.area_code, extra={"served_on": on.isoformat(), "late": late})
    return notice
