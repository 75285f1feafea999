"""Excel export of case lists."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from doudi.areas import service as areas
from doudi.auth.permissions import Actor
from doudi.cases import service as svc
from doudi.cases.models import Case
from doudi.cases.notices import PROGRAM_LABELS
from doudi.core.excel import Col, Sheet, to_bytes

STATUS = {"submitted": "待受理", "needs_info": "待补正", "open": "办理中", "decided": "已办结", "closed": "已关闭",
          "withdrawn": "已撤回"}


CHANNELS = {"applicant": "本人申请", "proxy": "委托代办", "discovery": "主动发现", "staff": "工作人员登记"}
COLUMNS = [Col("案件编号", 24), Col("申请人", 12), Col("所在区划", 16), Col("申请方式", 12), Col("项目", 24),
           Col("状态", 8), Col("当前环节", 14), Col("环节时限", 12), Col("受理日期", 12), Col("办结时限", 12),
           Col("审批权限", 8)]


def cases_workbook(session: Session, *, actor: Actor, filters: svc.CaseFilter, limit: int = 100_000) -> bytes:
    """The filtered case list as .xlsx (the shared, formula-safe writer)."""
    actor.require("case.export")
    rows: list[Case] = list(session.scalars(svc.list_stmt(actor, filters).order_by(Case.id).limit(limit)))
    names = areas.names(session, codes={c.area_code for c in rows})

    def lines() -> Iterator[list[Any]]:
        for c in rows:
            step = svc.active_step(c)
            yield [c.case_no, c.applicant_name, names.get(c.area_code, c.area_code),
                   CHANNELS.get(c.channel, c.channel), "、".join(PROGRAM_LABELS.get(p, p) for p in c.programs),
                   STATUS.get(c.status, c.status), svc.label(step.key) if step else "",
                   step.due_on.isoformat() if step and step.due_on else "",
                   c.accepted_on.isoformat() if c.accepted_on else "",
                   str(c.extended_to or c.due_on or ""),
                   "乡镇" if c.delegated else "县级"]

    return to_bytes(Sheet("案件", COLUMNS, lines()))
