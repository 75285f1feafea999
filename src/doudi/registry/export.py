"""Excel export of household lists (openpyxl write-only, so large lists stream)."""

from __future__ import annotations

import io

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.areas import service as areas
from doudi.auth.permissions import Actor
from doudi.core.masking import mask_id
from doudi.registry import service
from doudi.registry.models import Household
from doudi.registry.vocab import label

MAX_ROWS = 200_000


def households_workbook(session: Session, *, actor: Actor, filters: service.HouseholdFilter) -> bytes:
    """An .xlsx of the filtered households with one row per current member."""
    actor.require("household.export")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("家庭档案")
    ws.append(["户编号", "所在区划", "地址", "户口类型", "成员姓名", "与户主关系",
               "身份证号(脱敏)", "性别", "出生日期"])
    stmt = service.scoped(select(Household), actor)
    if filters.q:
        stmt = stmt.where(service._search_clause(filters.q))
    if filters.area_code:
        stmt = stmt.where(Household.area_code.startswith(filters.area_code))
    if filters.hukou_type:
        stmt = stmt.where(Household.hukou_type == filters.hukou_type)
    rows = list(session.scalars(stmt.order_by(Household.id).limit(MAX_ROWS)))
    names = areas.names(session, codes={h.area_code for h in rows})
    for hh in rows:
        for m in service.current_members(hh):
            p = m.person
            ws.append([hh.household_no, names.get(hh.area_code, hh.area_code), hh.address, label(hh.hukou_type),
                       p.name, label(m.relation), mask_id(p.id_number), "男" if p.sex == "M" else "女",
                       p.birth_date.isoformat()])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
