"""Excel export of case lists."""

from __future__ import annotations

import io

from openpyxl import Workbook
from sqlalchemy.orm import Session

from doudi.areas import service as areas
from doudi.auth.permissions import Actor
from doudi.cases import service as svc
from doudi.cases.models import Case

STATUS = {"submitted": "待受理", "needs_info": "待补正", "open": "办理中", "decided": "已办结", "closed": "已关闭",
          "withdrawn": "已撤回"}


def cases_workbook(session: Session, *, actor: Actor, filters: svc.CaseFilter, limit: int = 100_000) -> bytes:
    """The filtered case list as .xlsx (streaming writer)."""
    actor.require("case.export")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("案件")
    ws.append(["案件编号", "申请人", "所在区划", "申请方式", "项目", "状态", "当前环节", "环节时限", "受理日期",
               "办结时限", "审批权限"])
    rows: list[Case] = list(session.scalars(svc.list_stmt(actor, filters).order_by(Case.id).limit(limit)))
    names = areas.names(session, codes={c.area_code for c in rows})
    for c in rows:
        step = svc.active_step(c)
        ws.append([c.case_no, c.applicant_name, names.get(c.area_code, c.area_code), c.channel, "、".join(c.programs),
                   STATUS.get(c.status, c.status), svc.label(step.key) if step else "",
                   step.due_on.isoformat() if step and step.due_on else "",
                   c.accepted_on.isoformat() if c.accepted_on else "",
                   str(c.extended_to or c.due_on or ""),
                   "乡镇" if c.delegated else "县级"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
