"""Console pages of the fund: balances and charts, the donation, grant and movement ledgers (filters, paging,
Excel), a grant's approval, group insurance policies, and the public transparency report (no login)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.areas.codes import county_of
from doudi.auth.permissions import Actor
from doudi.auth.scope import area_clause
from doudi.charity.fund import export, forms, insurance, report, service
from doudi.charity.fund.labels import (
    CLAIM_LABELS,
    DONOR_LABELS,
    GRANT_LABELS,
    KIND_LABELS,
    POLICY_LABELS,
    PURPOSE_LABELS,
    WORDS,
    program_label,
    yuan,
)
from doudi.charity.fund.models import Movement
from doudi.core import clock, excel
from doudi.core.masking import mask_id, mask_name
from doudi.db.frames import read_frame
from doudi.deps import CsrfChecked, PageActor, SessionDep
from doudi.web.charts import Chart
from doudi.web.charts import register as register_chart
from doudi.web.nav import NavItem
from doudi.web.nav import register as nav
from doudi.web.render import register_words, render

router = APIRouter(include_in_schema=False)
nav(NavItem("慈善救助基金", "/charity/fund", "fund.read"), before="/audit")
register_words(WORDS)
PER_PAGE = 20
T = "charity/fund/"


def _ctx() -> dict[str, Any]:
    return {"yuan": yuan, "purposes": PURPOSE_LABELS, "grant_labels": GRANT_LABELS, "kind_labels": KIND_LABELS,
            "policy_labels": POLICY_LABELS, "claim_labels": CLAIM_LABELS, "donor_labels": DONOR_LABELS,
            "mask_id": mask_id, "mask_name": mask_name, "program_label": program_label}


def _county(actor: Actor, area: str) -> str:
    if area:
        return area
    return county_of(actor.area_code) if len(actor.area_code or "") >= 6 else ""


def _xlsx(data: bytes, name: str) -> Response:
    return Response(data, media_type=excel.MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _filter(purpose: str, status: str, month: str, q: str, area: str = "") -> service.Filter:
    return service.Filter(purpose=purpose, status=status, month=forms.month(month), q=q.strip(), area=area)


@router.get("/charity/fund")
def overview(request: Request, session: SessionDep, actor: PageActor, area: str = "") -> Response:
    """A county fund's balances per pool, what waits for approval, the charts and the entry forms."""
    actor.require("fund.read")
    county = _county(actor, area)
    bal = service.balances(session, actor=actor, county=county) if county else {}
    waiting = service.list_grants(session, actor=actor, f=service.Filter(status="pending", area=county), per_page=50)
    return render(request, T + "overview.html", {
        **_ctx(), "county": county, "balances": bal, "total": sum(bal.values()), "waiting": waiting.rows,
        "charts": fund_charts(session, actor, clock.today()), "can_donate": actor.can("fund.donate"),
        "can_grant": actor.can("fund.grant"), "today": clock.today()})


@router.post("/charity/fund/donations")
def donate(session: SessionDep, actor: PageActor, _csrf: CsrfChecked, area_code: Annotated[str, Form()],
           receipt_no: Annotated[str, Form()], donor_name: Annotated[str, Form()], amount: Annotated[str, Form()],
           purpose: Annotated[str, Form()], received_on: Annotated[str, Form()],
           donor_kind: Annotated[str, Form()] = "person", restricted: Annotated[str, Form()] = "",
           restrictions: Annotated[str, Form()] = "", donor_contact: Annotated[str, Form()] = "") -> Response:
    """Record a donation."""
    service.record_donation(session, actor=actor, area_code=area_code, receipt_no=receipt_no, donor_name=donor_name,
                            amount_fen=forms.fen(amount, "amount", "捐赠金额"), purpose=purpose,
                            restricted=restricted == "1", received_on=forms.day(received_on, "received_on", "到账日期"),
                            today=clock.today(), donor_kind=donor_kind, donor_contact=donor_contact,
                            restrictions=restrictions)
    session.commit()
    return RedirectResponse(f"/charity/fund/donations?area={area_code.strip()}", status_code=303)


@router.get("/charity/fund/donations")
def donations(request: Request, session: SessionDep, actor: PageActor, purpose: str = "", month: str = "",
              q: str = "", area: str = "", page: int = Query(1, ge=1)) -> Response:
    """The donation ledger."""
    f = _filter(purpose, "", month, q, area)
    p = service.list_donations(session, actor=actor, f=f, page=page, per_page=PER_PAGE)
    head = ["票据号", "到账日期", "捐赠人", "用途", "定向", "金额(元)", "县"]
    rows = [[d.receipt_no, d.received_on, d.donor_name if d.donor_kind == "company" else mask_name(d.donor_name),
             PURPOSE_LABELS.get(d.purpose, d.purpose), "是" if d.restricted else "否", yuan(d.amount_fen), d.area_code]
            for d in p.rows]
    return _ledger(request, "捐赠收入台账", "donations", head, rows, p.total, page,
                   {"purpose": purpose, "month": month, "q": q, "area": area}, actor, statuses={})


@router.get("/charity/fund/donations/export.xlsx")
def donations_xlsx(session: SessionDep, actor: PageActor, purpose: str = "", month: str = "", q: str = "",
                   area: str = "") -> Response:
    """The donation ledger as Excel."""
    return _xlsx(export.donations(session, actor=actor, f=_filter(purpose, "", month, q, area)), "donations.xlsx")


@router.post("/charity/fund/grants")
def grant(session: SessionDep, actor: PageActor, _csrf: CsrfChecked, amount: Annotated[str, Form()],
          purpose: Annotated[str, Form()], pool: Annotated[str, Form()], reason: Annotated[str, Form()],
          household_id: Annotated[str, Form()] = "", case_id: Annotated[str, Form()] = "",
          need_id: Annotated[str, Form()] = "") -> Response:
    """Propose a grant (the maker)."""
    g = service.make_grant(session, actor=actor, amount_fen=forms.fen(amount, "amount", "拨付金额"), purpose=purpose,
                           pool=pool, reason=reason, household_id=forms.optional_int(household_id, "household_id",
                                                                                     "家庭编号"),
                           case_id=forms.optional_int(case_id, "case_id", "案件编号"),
                           need_id=forms.optional_int(need_id, "need_id", "需求编号"))
    session.commit()
    return RedirectResponse(f"/charity/fund/grants/{g.id}", status_code=303)


@router.get("/charity/fund/grants")
def grants(request: Request, session: SessionDep, actor: PageActor, purpose: str = "", status: str = "",
           month: str = "", q: str = "", area: str = "", page: int = Query(1, ge=1)) -> Response:
    """The grant ledger."""
    f = _filter(purpose, status, month, q, area)
    p = service.list_grants(session, actor=actor, f=f, page=page, per_page=PER_PAGE)
    head = ["拨付编号", "用途", "资金来源", "金额(元)", "家庭", "案件", "需求", "状态", "经办人", "审批人"]
    rows = [[{"text": g.id, "href": f"/charity/fund/grants/{g.id}"}, PURPOSE_LABELS.get(g.purpose, g.purpose),
             PURPOSE_LABELS.get(g.pool, g.pool), yuan(g.amount_fen), g.household_id or "", g.case_id or "",
             g.need_id or "", GRANT_LABELS.get(g.status, g.status), g.made_by_name, g.decided_by_name] for g in p.rows]
    return _ledger(request, "救助拨付台账", "grants", head, rows, p.total, page,
                   {"purpose": purpose, "status": status, "month": month, "q": q, "area": area}, actor,
                   statuses={str(k): v for k, v in GRANT_LABELS.items()})


@router.get("/charity/fund/grants/export.xlsx")
def grants_xlsx(session: SessionDep, actor: PageActor, purpose: str = "", status: str = "", month: str = "",
                q: str = "", area: str = "") -> Response:
    """The grant ledger as Excel."""
    return _xlsx(export.grants(session, actor=actor, f=_filter(purpose, status, month, q, area)), "grants.xlsx")


@router.get("/charity/fund/grants/{grant_id}")
def grant_page(request: Request, grant_id: int, session: SessionDep, actor: PageActor) -> Response:
    """One grant with its approval."""
    g = service.get_grant(session, actor=actor, grant_id=grant_id)
    own = g.made_by is not None and g.made_by == actor.user_id
    return render(request, T + "grant.html", {**_ctx(), "g": g, "own": own,
                                              "can_decide": actor.can("fund.approve") and not own
                                              and g.status == "pending"})


@router.post("/charity/fund/grants/{grant_id}/decide")
def grant_decide(grant_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                 version: Annotated[int, Form()], decision: Annotated[str, Form()],
                 note: Annotated[str, Form()] = "") -> Response:
    """Approve or reject a grant (not one's own)."""
    service.decide_grant(session, actor=actor, grant_id=grant_id, version=version, approve=decision == "approve",
                         today=clock.today(), note=note)
    session.commit()
    return RedirectResponse(f"/charity/fund/grants/{grant_id}", status_code=303)


@router.get("/charity/fund/movements")
def movements(request: Request, session: SessionDep, actor: PageActor, purpose: str = "", status: str = "",
              month: str = "", area: str = "", page: int = Query(1, ge=1)) -> Response:
    """The movement ledger (pool = purpose filter, kind = status filter)."""
    f = _filter(purpose, status, month, "", area)
    p = service.list_movements(session, actor=actor, f=f, page=page, per_page=PER_PAGE)
    head = ["县", "资金", "序号", "月份", "类别", "用途", "发生额(元)", "余额(元)"]
    rows = [[m.area_code, PURPOSE_LABELS.get(m.pool, m.pool), m.seq, f"{m.month:%Y-%m}",
             KIND_LABELS.get(m.kind, m.kind),
             PURPOSE_LABELS.get(m.purpose, m.purpose), yuan(m.delta_fen), yuan(m.balance_fen)] for m in p.rows]
    return _ledger(request, "资金流水", "movements", head, rows, p.total, page,
                   {"purpose": purpose, "status": status, "month": month, "area": area}, actor,
                   statuses={str(k): v for k, v in KIND_LABELS.items()})


@router.get("/charity/fund/movements/export.xlsx")
def movements_xlsx(session: SessionDep, actor: PageActor, purpose: str = "", status: str = "", month: str = "",
                   area: str = "") -> Response:
    """The movement ledger as Excel."""
    return _xlsx(export.movements(session, actor=actor, f=_filter(purpose, status, month, "", area)),
                 "movements.xlsx")


def _ledger(request: Request, title: str, key: str, head: list[str], rows: list[list[Any]], total: int, page: int,
            f: dict[str, str], actor: Actor, *, statuses: dict[str, str]) -> Response:
    return render(request, T + "ledger.html", {
        **_ctx(), "title": title, "key": key, "head": head, "rows": rows, "total": total, "page": page,
        "pages": forms.pages(total, PER_PAGE), "f": f, "statuses": statuses, "base_query": forms.query(**f),
        "can_export": actor.can("fund.export")})


@router.get("/charity/fund/policies")
def policies(request: Request, session: SessionDep, actor: PageActor, status: str = "",
             page: int = Query(1, ge=1)) -> Response:
    """Group insurance policies."""
    p = insurance.list_policies(session, actor=actor, page=page, per_page=PER_PAGE, status=status)
    return render(request, T + "policies.html", {
        **_ctx(), "rows": p.rows, "total": p.total, "page": page, "pages": forms.pages(p.total, PER_PAGE),
        "base_query": forms.query(status=status), "status": status, "can_insure": actor.can("fund.insure"),
        "county": _county(actor, "")})


@router.post("/charity/fund/policies")
def policy_create(session: SessionDep, actor: PageActor, _csrf: CsrfChecked, area_code: Annotated[str, Form()],
                  policy_no: Annotated[str, Form()], insurer: Annotated[str, Form()],
                  start_on: Annotated[str, Form()], end_on: Annotated[str, Form()],
                  premium: Annotated[str, Form()] = "", coverage: Annotated[str, Form()] = "") -> Response:
    """Create a policy."""
    p = insurance.create_policy(session, actor=actor, county=area_code, policy_no=policy_no, insurer=insurer,
                                start_on=forms.day(start_on, "start_on", "保险起期"),
                                end_on=forms.day(end_on, "end_on", "保险止期"),
                                premium_fen=forms.fen(premium, "premium", "人均保费") if premium.strip() else None,
                                coverage=coverage)
    session.commit()
    return RedirectResponse(f"/charity/fund/policies/{p.id}", status_code=303)


@router.get("/charity/fund/policies/{policy_id}")
def policy_page(request: Request, policy_id: int, session: SessionDep, actor: PageActor, q: str = "",
                page: int = Query(1, ge=1)) -> Response:
    """A policy: its members (ID numbers masked), premium, claims."""
    p = insurance.get_policy(session, actor=actor, policy_id=policy_id)
    stmt = insurance.members_query(actor, p.id, q.strip())
    members = session.execute(stmt.limit(50).offset((page - 1) * 50)).all()
    return render(request, T + "policy.html", {
        **_ctx(), "p": p, "members": members, "total": p.member_count, "page": page,
        "pages": forms.pages(p.member_count, 50), "base_query": forms.query(q=q), "q": q,
        "premium": insurance.premium_fen(p), "claims": insurance.list_claims(session, actor=actor, policy_id=p.id),
        "can_insure": actor.can("fund.insure"), "can_file": actor.can("fund.insurer_file"),
        "can_export": actor.can("fund.export"), "today": clock.today()})


@router.post("/charity/fund/policies/{policy_id}/enrol")
def policy_enrol(policy_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                 version: Annotated[int, Form()]) -> Response:
    """List the eligible recipients on the policy."""
    insurance.enrol(session, actor=actor, policy_id=policy_id, version=version, on=clock.today())
    session.commit()
    return RedirectResponse(f"/charity/fund/policies/{policy_id}", status_code=303)


@router.post("/charity/fund/policies/{policy_id}/premium")
def policy_premium(policy_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                   pool: Annotated[str, Form()] = "insurance") -> Response:
    """Propose the premium as a grant for approval."""
    g = insurance.request_premium(session, actor=actor, policy_id=policy_id, pool=pool)
    session.commit()
    return RedirectResponse(f"/charity/fund/grants/{g.id}", status_code=303)


@router.post("/charity/fund/policies/{policy_id}/claims")
def policy_claim(policy_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                 member_id: Annotated[int, Form()], claim_no: Annotated[str, Form()],
                 incident_on: Annotated[str, Form()], kind: Annotated[str, Form()],
                 claimed: Annotated[str, Form()]) -> Response:
    """Record a claim."""
    insurance.get_policy(session, actor=actor, policy_id=policy_id)
    insurance.record_claim(session, actor=actor, member_id=member_id, claim_no=claim_no,
                           incident_on=forms.day(incident_on, "incident_on", "出险日期"), kind=kind,
                           claimed_fen=forms.fen(claimed, "claimed", "申请理赔金额"))
    session.commit()
    return RedirectResponse(f"/charity/fund/policies/{policy_id}", status_code=303)


@router.post("/charity/fund/claims/{claim_id}/answer")
def claim_answer(claim_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                 version: Annotated[int, Form()], paid: Annotated[str, Form()]) -> Response:
    """Record the insurer's answer to a claim."""
    c = insurance.answer_claim(session, actor=actor, claim_id=claim_id, version=version,
                               paid_fen=forms.fen(paid, "paid", "赔付金额"))
    session.commit()
    return RedirectResponse(f"/charity/fund/policies/{c.policy_id}", status_code=303)


@router.get("/charity/fund/policies/{policy_id}/members.xlsx")
def policy_members_xlsx(policy_id: int, session: SessionDep, actor: PageActor) -> Response:
    """The members as Excel, ID numbers masked."""
    return _xlsx(export.members(session, actor=actor, policy_id=policy_id), f"policy-{policy_id}-members.xlsx")


@router.get("/charity/fund/policies/{policy_id}/insurer.xlsx")
def policy_insurer_xlsx(policy_id: int, session: SessionDep, actor: PageActor) -> Response:
    """The insurer's file with full ID numbers (its own permission; audited)."""
    data = insurance.insurer_file(session, actor=actor, policy_id=policy_id)
    session.commit()
    return _xlsx(data, f"policy-{policy_id}-insurer.xlsx")


@router.get("/public/charity-fund")
def public_report(request: Request, session: SessionDep, area: str = "", year: int = Query(0, ge=0)) -> Response:
    """慈善信息公开: a county fund's money in and out by purpose and month (no login, no personal data)."""
    if not area:
        return render(request, T + "public.html", {**_ctx(), "r": None, "year": year or clock.today().year})
    r = report.transparency(session, county=area, year=year or clock.today().year)
    return render(request, T + "public.html", {**_ctx(), "r": r, "rows": list(r.rows.iter_rows()),
                                               "by_purpose": list(r.by_purpose.select(
                                                   "purpose", "in_fen", "out_fen", "balance_fen").iter_rows())})


@router.get("/public/charity-fund.xlsx")
def public_report_xlsx(session: SessionDep, area: str, year: int = Query(0, ge=0)) -> Response:
    """The public report as Excel."""
    r = report.transparency(session, county=area, year=year or clock.today().year)
    return _xlsx(report.to_xlsx(r), f"charity-fund-{r.county}-{r.year}.xlsx")


def _flows(session: Session, actor: Actor, today: date) -> Any:
    start = date(today.year - 1, today.month, 1)
    moves = read_frame(session, select(Movement.month, Movement.purpose, Movement.kind, Movement.delta_fen,
                                       Movement.pool).where(area_clause(Movement.area_code, actor),
                                                            Movement.month >= start))
    return report.monthly(moves), moves


@register_chart
def fund_charts(session: Session, actor: Actor, today: date) -> list[Chart]:
    """Fund balance per pool, and money in and out by month (yuan), in the actor's area."""
    if not actor.can("fund.read"):
        return []
    import polars as pl

    by_month, _ = _flows(session, actor, today)
    pools = read_frame(session, select(Movement.pool, Movement.delta_fen).where(
        area_clause(Movement.area_code, actor)))
    if pools.is_empty():
        return []
    bal = pools.group_by("pool").agg(pl.col("delta_fen").sum()).sort("pool")
    names = [PURPOSE_LABELS.get(p, p) for p in bal["pool"].to_list()]
    values = [v / 100 for v in bal["delta_fen"].to_list()]
    balance = Chart("fund-balance", "慈善救助基金余额（按资金用途，元）", {
        "tooltip": {}, "grid": {"containLabel": True}, "xAxis": {"type": "category", "data": names},
        "yAxis": {"type": "value"}, "series": [{"type": "bar", "name": "余额", "data": values}]},
        ["资金用途", "余额(元)"], [[n, yuan(int(v * 100))] for n, v in zip(names, values, strict=True)])
    m = by_month.group_by("month").agg(pl.col("in_fen").sum(), pl.col("out_fen").sum()).sort("month")
    months = [f"{x:%Y-%m}" for x in m["month"].to_list()]
    flows = Chart("fund-flows", "慈善救助基金收支（按月，元）", {
        "tooltip": {"trigger": "axis"}, "legend": {}, "grid": {"containLabel": True},
        "xAxis": {"type": "category", "data": months}, "yAxis": {"type": "value"},
        "series": [{"type": "bar", "name": "捐赠收入", "data": [v / 100 for v in m["in_fen"].to_list()]},
                   {"type": "bar", "name": "救助支出", "data": [v / 100 for v in m["out_fen"].to_list()]}]},
        ["月份", "收入(元)", "支出(元)"],
        [[mo, yuan(i), yuan(o)] for mo, i, o in zip(months, m["in_fen"].to_list(), m["out_fen"].to_list(),
                                                    strict=True)])
    p = by_month.group_by("purpose").agg(pl.col("in_fen").sum(), pl.col("out_fen").sum()).sort("purpose")
    pnames = [PURPOSE_LABELS.get(x, x) for x in p["purpose"].to_list()]
    by_purpose = Chart("fund-purposes", "近一年收支（按用途，元）", {
        "tooltip": {"trigger": "axis"}, "legend": {}, "grid": {"containLabel": True},
        "xAxis": {"type": "category", "data": pnames}, "yAxis": {"type": "value"},
        "series": [{"type": "bar", "name": "收入", "data": [v / 100 for v in p["in_fen"].to_list()]},
                   {"type": "bar", "name": "支出", "data": [v / 100 for v in p["out_fen"].to_list()]}]},
        ["用途", "收入(元)", "支出(元)"],
        [[n, yuan(i), yuan(o)] for n, i, o in zip(pnames, p["in_fen"].to_list(), p["out_fen"].to_list(), strict=True)])
    return [balance, flows, by_purpose]
