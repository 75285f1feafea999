"""Console page of the 核对成效 report: filters (period, township), charts with their tables, and Excel."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from doudi.areas import service as areas
from doudi.audit import service as audit
from doudi.core import clock, excel
from doudi.core.errors import FieldError, ValidationFailed
from doudi.deps import PageActor, SessionDep
from doudi.targeting import export, service
from doudi.web.nav import NavItem
from doudi.web.nav import register as nav
from doudi.web.render import render

router = APIRouter(prefix="/targeting", include_in_schema=False)

nav(NavItem("核对成效", "/targeting/effect", "targeting.read"), before="/households")


def _period(start: str, end: str, today: date) -> tuple[date, date]:
    """The period asked for; by default the twelve months up to today."""
    try:
        to = date.fromisoformat(end) if end else today
    except ValueError:
        raise ValidationFailed([FieldError("to", f"结束日期格式应为 YYYY-MM-DD：{end}")]) from None
    try:
        frm = date.fromisoformat(start) if start else date(to.year - 1, to.month, 1)
    except ValueError:
        raise ValidationFailed([FieldError("from", f"开始日期格式应为 YYYY-MM-DD：{start}")]) from None
    return frm, to


def _names(session: SessionDep, effect: service.Effect) -> dict[str, str]:
    return areas.names(session, codes=set(effect.requests["township"].to_list()) if not effect.empty else set())


@router.get("/effect")
def effect_page(request: Request, session: SessionDep, actor: PageActor, start: str = "", end: str = "",
                township: str = "") -> Response:
    """核对成效: decisions verification changed, what it found and what that is worth a month."""
    actor.require("targeting.read")
    frm, to = _period(start, end, clock.today())
    if township and not actor.sees(township):
        raise ValidationFailed([FieldError("township", "所选乡镇不在您的管辖范围内")])
    effect = service.verification_effect(session, actor=actor, start=frm, end=to, area=township)
    names = _names(session, effect)
    towns = [(a.code, a.name) for a in areas.subtree(session, area_code=actor.area_code, level="township")]
    totals = service.monthly_totals(effect)
    return render(request, "targeting/effect.html", {
        "effect": effect, "start": frm, "end": to, "township": township, "towns": towns, "names": names,
        "charts": export.chart_options(effect, names), "sheets": export.sheets(effect, names),
        "saved": float(totals["saved"].sum()) if totals.height else 0.0,
        "added": float(totals["added"].sum()) if totals.height else 0.0})


@router.get("/effect.xlsx")
def effect_export(session: SessionDep, actor: PageActor, start: str = "", end: str = "",
                  township: str = "") -> Response:
    """The same report as an Excel workbook; the export is audited."""
    actor.require("targeting.read")
    frm, to = _period(start, end, clock.today())
    if township and not actor.sees(township):
        raise ValidationFailed([FieldError("township", "所选乡镇不在您的管辖范围内")])
    effect = service.verification_effect(session, actor=actor, start=frm, end=to, area=township)
    data = excel.to_bytes(*export.sheets(effect, _names(session, effect)))
    audit.record(session, actor=actor, action="targeting.export", object_type="verification_effect",
                 object_id=effect.requests.height, area_code=township or None,
                 extra={"from": frm.isoformat(), "to": to.isoformat()})
    session.commit()
    return Response(data, media_type=export.XLSX,
                    headers={"Content-Disposition": f'attachment; filename="verification-effect-{frm}-{to}.xlsx"'})
