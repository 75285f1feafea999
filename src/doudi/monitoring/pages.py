"""Console pages of monitoring: the warning ledger (search, filters, paging, Excel, chart), a warning's detail
with the reason why and its actions, and referrals."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from doudi.areas import service as areas
from doudi.audit import service as audit
from doudi.auth.permissions import Actor
from doudi.core import clock, excel
from doudi.core.errors import ValidationFailed
from doudi.deps import CsrfChecked, PageActor, SessionDep, Uploaded, upload_field
from doudi.monitoring import export, flows, imports, referrals, service
from doudi.monitoring.labels import AGENCIES, DISPOSITION, LEVEL, REFERRAL_STATUS, STATUS
from doudi.monitoring.run import rule_specs
from doudi.registry.models import Household
from doudi.registry.panels import Panel, register
from doudi.web.nav import NavItem
from doudi.web.nav import register as nav
from doudi.web.render import render

router = APIRouter(prefix="/monitoring", include_in_schema=False)

PER_PAGE = 30

nav(NavItem("监测预警", "/monitoring", "monitoring.read"), before="/households")
nav(NavItem("转办推送", "/monitoring/referrals", "referral.read"), before="/households")


def _filters(rule: str, level: str, status: str, township: str, overdue: str, q: str) -> service.Filters:
    return service.Filters(rule=rule, level=level, status=status, township=township, overdue=overdue == "1", q=q)


@router.get("")
def ledger(request: Request, session: SessionDep, actor: PageActor, rule: str = "", level: str = "",
           status: str = "open", township: str = "", overdue: str = "", q: str = "",
           page: int = Query(1, ge=1)) -> Response:
    """The 预警台账: filters, search, paging, chart and export."""
    today = clock.today()
    f = _filters(rule, level, status, township, overdue, q)
    rows, total = service.list_warnings(session, actor=actor, filters=f, today=today, page=page, per_page=PER_PAGE)
    specs = rule_specs("", today)
    stats = service.stats(session, actor=actor, today=today)
    towns = [(a.code, a.name) for a in areas.subtree(session, area_code=actor.area_code, level="township")]
    names = areas.names(session, codes={r.area_code[:9] for r in rows} | set(stats["by_township"]))
    chart = {"rules": [specs[k].label if k in specs else k for k in stats["by_rule"]],
             "rule_counts": list(stats["by_rule"].values()),
             "towns": [names.get(k, k) for k in stats["by_township"]],
             "town_counts": list(stats["by_township"].values()),
             "weeks": list(stats["weekly"]), "week_counts": list(stats["weekly"].values()),
             "on_time": stats["on_time_rate"]}
    query = urlencode({"rule": rule, "level": level, "status": status, "township": township, "overdue": overdue,
                       "q": q})
    return render(request, "monitoring/ledger.html", {
        "rows": rows, "total": total, "page": page, "pages": max(1, -(-total // PER_PAGE)), "f": f,
        "specs": specs, "towns": towns, "names": names, "today": today, "base_query": query,
        "status_labels": STATUS, "level_labels": LEVEL, "disposition_labels": DISPOSITION,
        "chart": json.dumps(chart, ensure_ascii=False), "stats": stats,
        "can_export": actor.can("monitoring.export"), "can_import": actor.can("monitoring.dispose")})


@router.get("/export.xlsx")
def ledger_export(session: SessionDep, actor: PageActor, rule: str = "", level: str = "", status: str = "",
                  township: str = "", overdue: str = "", q: str = "") -> Response:
    """The filtered ledger as Excel (ID numbers masked)."""
    f = _filters(rule, level, status, township, overdue, q)
    data = export.rows(session, actor=actor, filters=f, today=clock.today())
    audit.record(session, actor=actor, action="monitoring.export", object_type="monitoring_export",
                 object_id=len(data), extra={"filters": f.__dict__})
    session.commit()
    return Response(excel.to_bytes(export.sheet(data)), media_type=export.XLSX,
                    headers={"Content-Disposition": 'attachment; filename="monitoring.xlsx"'})


MAX_UPLOAD = 20 * 1024 * 1024  # one township's filled ledger
UploadDep = Annotated[Uploaded, Depends(upload_field(max_bytes=MAX_UPLOAD))]


@router.post("/dispositions")
def dispositions_import(request: Request, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                        file: UploadDep) -> Response:
    """Dispositions made offline in the exported ledger: good rows disposed, bad rows listed with line and why."""
    try:
        result = imports.import_dispositions(session, actor=actor, data=file.check(), filename=file.filename,
                                             today=clock.today())
    except (imports.DispositionFileError, ValidationFailed) as exc:
        session.rollback()
        return render(request, "monitoring/import_result.html", {"error": str(exc), "result": None},
                      status_code=400)
    session.commit()
    return render(request, "monitoring/import_result.html", {"error": "", "result": result})


@router.get("/referrals")
def referral_list(request: Request, session: SessionDep, actor: PageActor, status: str = "") -> Response:
    """Referrals in scope (an agency's liaison sees its own), with their deadlines."""
    rows = referrals.list_referrals(session, actor=actor, status=status)
    return render(request, "monitoring/referrals.html", {
        "rows": rows, "status": status, "labels": REFERRAL_STATUS, "agencies": AGENCIES, "today": clock.today(),
        "can_answer": actor.can("referral.answer")})


@router.post("/referrals/{referral_id}")
def referral_answer(referral_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                    action: Annotated[str, Form()], result: Annotated[str, Form()] = "",
                    version: Annotated[int | None, Form()] = None) -> Response:
    """Acknowledge a referral or record its result."""
    referrals.answer(session, actor=actor, referral_id=referral_id, version=version,
                     acknowledge_only=action == "acknowledge", result=result, today=clock.today())
    session.commit()
    return RedirectResponse("/monitoring/referrals", status_code=303)


@router.get("/{warning_id}")
def detail(request: Request, warning_id: int, session: SessionDep, actor: PageActor) -> Response:
    """One warning: the reason why, compared values, evidence with provenance, history and actions."""
    w = service.get_warning(session, actor=actor, warning_id=warning_id)
    spec = rule_specs(w.area_code, clock.today()).get(w.rule_key)
    refs = referrals.list_referrals(session, actor=actor, warning_id=w.id) if actor.can("referral.read") else []
    return render(request, "monitoring/detail.html", {
        "w": w, "spec": spec, "refs": refs, "status_labels": STATUS, "level_labels": LEVEL,
        "disposition_labels": DISPOSITION, "agencies": AGENCIES, "referral_labels": REFERRAL_STATUS,
        "sides": service.own_sides(session, actor=actor, warning=w),
        "today": clock.today(), "can_act": actor.can("monitoring.dispose") and w.status != "closed"
        and actor.sees(w.area_code),
        "can_apply": actor.can("case.create") and w.status != "closed" and w.case_id is None
        and spec is not None and "application" in spec.dispositions and w.household_id is not None,
        "area_names": areas.names(session, codes={w.area_code})})


@router.post("/{warning_id}")
def act(warning_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
        action: Annotated[str, Form()], version: Annotated[int | None, Form()] = None,
        note: Annotated[str, Form()] = "", disposition: Annotated[str, Form()] = "",
        target_key: Annotated[str, Form()] = "") -> Response:
    """Assign, verify, dispose or close (each with its reason)."""
    today = clock.today()
    if action == "application":
        case = flows.start_application(session, actor=actor, warning_id=warning_id, version=version, today=today)
        session.commit()
        return RedirectResponse(f"/cases/{case.id}", status_code=303)
    if action == "assign":
        service.assign(session, actor=actor, warning_id=warning_id, version=version, assignee_id=None, note=note)
    elif action == "verify":
        service.verify(session, actor=actor, warning_id=warning_id, version=version, note=note)
    elif action == "dispose":
        service.dispose(session, actor=actor, warning_id=warning_id, version=version, disposition=disposition,
                        note=note, today=today, target_key=target_key)
    else:
        service.close(session, actor=actor, warning_id=warning_id, version=version, note=note, today=today)
    session.commit()
    return RedirectResponse(f"/monitoring/{warning_id}", status_code=303)


@register
def household_panel(session: Session, actor: Actor, household: Household) -> Panel | None:
    """The household's warnings, their dispositions and referrals, in time order (救助链 section)."""
    if not actor.can("monitoring.read"):
        return None
    warnings = service.for_household(session, actor=actor, household_id=household.id)
    refs = [r for r in referrals.list_referrals(session, actor=actor) if r.household_id == household.id] \
        if actor.can("referral.read") else []
    return Panel("监测预警与转办", "monitoring/_panel.html", {
        "household_id": household.id, "warnings": warnings, "refs": refs,
        "specs": rule_specs(household.area_code, clock.today()),
        "status_labels": STATUS, "level_labels": LEVEL, "disposition_labels": DISPOSITION, "agencies": AGENCIES,
        "referral_labels": REFERRAL_STATUS})
