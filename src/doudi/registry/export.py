"""Excel export of household lists (the shared streaming, formula-safe writer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.areas import service as areas
from doudi.auth.permissions import Actor
from doudi.auth.scope import under
from doudi.core.excel import Col, Sheet, to_bytes
from doudi.registry import service
from doudi.registry.models import Household
from doudi.registry.vocab import label

MAX_ROWS = 200_000


COLUMNS = [Col("户编号", 18), Col("所在区划", 16), Col("地址", 30), Col("户口类型", 8), Col("成员姓名", 12),
           Col("与户主关系", 10), Col("身份证号(脱敏)", 20, mask="id_number"), Col("性别", 6), Col("出生日期", 12)]


def households_workbook(session: Session, *, actor: Actor, filters: service.HouseholdFilter) -> bytes:
    """An .xlsx of the filtered households with one row per current member."""
    actor.require("household.export")
    stmt = service.scoped(select(Household), actor)
    if filters.q:
        stmt = stmt.where(service._search_clause(filters.q))
    if filters.area_code:
        stmt = under(stmt, Household.area_code, filters.area_code)
    if filters.hukou_type:
        stmt = stmt.where(Household.hukou_type == filters.hukou_type)
    rows = list(session.scalars(stmt.order_by(Household.id).limit(MAX_ROWS)))
    names = areas.names(session, codes={h.area_code for h in rows})

    def lines() -> Iterator[list[Any]]:
        for hh in rows:
            for m in service.current_members(hh):
                p = m.person
                yield [hh.household_no, names.get(hh.area_code, hh.area_code), hh.address, label(hh.hukou_type),
                       p.name, label(m.relation), p.id_number, "男" if p.sex == "M" else "女",
                       p.birth_date.isoformat()]

    return to_bytes(Sheet("家庭档案", COLUMNS, lines()))
