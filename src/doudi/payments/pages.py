"""Console pages of payments: rolls (filter, paging), a roll's lines with approval, bank files, the bank return
upload with its classified rows, and the Excel export of a roll."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from doudi.areas.codes import county_of
from doudi.auth.permissions import Actor
from doudi.auth.scope import county_or_above
from doudi.cases.notices import PROGRAM_LABELS
from doudi.core import clock, excel
from doudi.core.errors import Conflict, DoudiError, FieldError, ValidationFailed
from doudi.core.masking import mask_id
from doudi.deps import CsrfChecked, PageActor, SessionDep, Uploaded, upload_field
from doudi.payments import bank, payables, reconcile, report, reserve, service, summary
from doudi.payments.models import BankFile, BankReturn, LineStatus, RollStatus
from doudi.registry.models import Household
from doudi.registry.panels import Panel
from doudi.registry.panels import register as register_panel
from doudi.web.charts import Chart
from doudi.web.charts import register as register_chart
from doudi.web.nav import NavItem
from doudi.web.nav import register as nav
from doudi.web.render import render

router = APIRouter(prefix="/payments", include_in_schema=False)
nav(NavItem("资金发放", "/payments/rolls", "payment.read"), before="/audit")
nav(NavItem("临时救助备用金", "/payments/reserve", "reserve.spend"), before="/audit")
nav(NavItem("资金发放统计", "/payments/funds", "payment.read"), before="/audit")
nav(NavItem("服务机构结算发放", "/payments/settlements", "payment.read"), before="/audit")
MAX_RETURN = 200 * 1024 * 1024  # a county's return for a month
ReturnUpload = Annotated[Uploaded, Depends(upload_field(max_bytes=MAX_RETURN))]
LABELS = {**PROGRAM_LABELS, "price_subsidy": "价格临时补贴", payables.PROGRAM: payables.LABEL}
PER_PAGE = 20


def _ctx() -> dict[str, object]:
    return {"labels": LABELS, "status_labels": {str(k): v for k, v in service.STATUS_LABELS.items()},
            "line_labels": {str(k): v for k, v in service.LINE_LABELS.items()},
            "component_labels": {str(k): v for k, v in service.COMPONENT_LABELS.items()},
            "yuan": service.yuan, "mask_id": mask_id, "mask_account": service.mask_account}


@router.get("/rolls")
def rolls_page(request: Request, session: SessionDep, actor: PageActor, month: str = "", program: str = "",
               status: str = "", page: int = Query(1, ge=1)) -> Response:
    """Rolls in the user's scope with filters and paging."""
    errors: list[FieldError] = []
    try:
        m = service.parse_month(month) if month else None
    except ValidationFailed as exc:
        errors, m = exc.errors, None
    f = service.RollFilter(month=m, program=program, status=status)
    rows, total = service.list_rolls(session, actor=actor, f=f, page=page, per_page=PER_PAGE)
    return render(request, "payments/rolls.html", {
        **_ctx(), "rows": rows, "total": total, "page": page, "pages": max(1, -(-total // PER_PAGE)),
        "f": {"month": month, "program": program, "status": status}, "errors": errors,
        "can_prepare": actor.can("payment.prepare"), "county": county_of(actor.area_code)})


@router.post("/rolls")
def rolls_generate(request: Request, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                   month: Annotated[str, Form()], program: Annotated[str, Form()],
                   area_code: Annotated[str, Form()]) -> Response:
    """Generate a county's roll from the page."""
    r = service.generate_roll(session, actor=actor, county=area_code.strip(), month=service.parse_month(month),
                              program=program)
    session.commit()
    return RedirectResponse(f"/payments/rolls/{r.id}", status_code=303)


@router.get("/rolls/{roll_id}")
def roll_page(request: Request, roll_id: int, session: SessionDep, actor: PageActor, q: str = "",
              status: str = "", page: int = Query(1, ge=1)) -> Response:
    """One roll: totals by outcome, its lines (ID numbers and accounts masked), approval and bank files."""
    r = service.get_roll(session, actor=actor, roll_id=roll_id)
    lines, total = service.roll_lines(session, actor=actor, roll=r, q=q, status=status, page=page, per_page=50)
    files = session.query(BankFile).filter(BankFile.roll_id == r.id).order_by(BankFile.seq).all()
    flagged = service.recent_account_changes(session, county=r.area_code, before=r.month,
                                             days=7) if r.status == RollStatus.DRAFT else set()
    return render(request, "payments/roll.html", {
        **_ctx(), "r": r, "lines": lines, "total": total, "page": page, "pages": max(1, -(-total // 50)),
        "f": {"q": q, "status": status}, "stats": service.roll_stats(session, roll_id=r.id), "files": files,
        "flagged": flagged, "LineStatus": LineStatus,
        "can_approve": actor.can("payment.approve") and r.status == RollStatus.DRAFT
        and (r.prepared_by is None or r.prepared_by != actor.user_id),
        "own": r.prepared_by is not None and r.prepared_by == actor.user_id,
        "can_export": actor.can("payment.export") and r.status in {RollStatus.APPROVED, RollStatus.SENT},
        "can_unmask": actor.can("payee_account.unmask"),
        "can_reconcile": actor.can("payment.reconcile") and r.status == RollStatus.SENT})


@router.post("/rolls/{roll_id}/approve")
def roll_approve(roll_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                 version: Annotated[int, Form()]) -> Response:
    """Approve a draft roll (not one's own)."""
    service.approve_roll(session, actor=actor, roll_id=roll_id, version=version)
    session.commit()
    return RedirectResponse(f"/payments/rolls/{roll_id}", status_code=303)


@router.post("/rolls/{roll_id}/bank-file")
def roll_bank_file(roll_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                   fmt: Annotated[str, Form()] = "pain001", seq: Annotated[int, Form()] = 1,
                   file_type: Annotated[str, Form()] = "") -> Response:
    """Download one bank file of an approved roll (the first download marks the roll sent)."""
    files = bank.export_roll(session, actor=actor, roll_id=roll_id, fmt=fmt, file_type=file_type or None)
    session.commit()
    f = files[min(max(seq, 1), len(files)) - 1] if files else None
    if f is None:
        raise ValidationFailed([FieldError("roll", "该花名册没有可发送的记录")])
    media = bank.media_type(f.name)
    return Response(f.data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{f.name}"'})


@router.get("/rolls/{roll_id}/export.xlsx")
def roll_excel(roll_id: int, session: SessionDep, actor: PageActor) -> Response:
    """The roll as Excel (ID numbers and accounts masked), through the shared writer."""
    r = service.get_roll(session, actor=actor, roll_id=roll_id)
    lines, _ = service.roll_lines(session, actor=actor, roll=r, page=1, per_page=1_000_000)
    cols = [excel.Col("收款人", 12), excel.Col("身份证号", 20, mask="id_number"), excel.Col("项目", 16),
            excel.Col("类别", 10), excel.Col("所属月份", 10), excel.Col("金额(元)", 12, number_format="0.00"),
            excel.Col("开户行", 18), excel.Col("账号", 22, mask=service.mask_account), excel.Col("状态", 12),
            excel.Col("计算依据", 60)]
    rows = ([x.payee_name, x.id_number, LABELS.get(x.program, x.program),
             service.COMPONENT_LABELS.get(x.component, x.component), f"{x.entitlement_month:%Y-%m}",
             x.amount_fen / 100, x.bank_name, x.account_no, service.LINE_LABELS.get(x.status, x.status), x.rule]
            for x in lines)
    caption = (f"{r.area_code} {r.month:%Y年%m月} {LABELS.get(r.program, r.program)} 发放花名册：{r.line_count} 笔，"
               f"{service.yuan(r.total_fen)} 元")
    data = excel.to_bytes(excel.Sheet("发放花名册", cols, rows, caption=caption))
    return Response(data, media_type=excel.MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="roll-{r.id}.xlsx"'})


@router.get("/rolls/{roll_id}/summary.pdf")
def roll_summary_pdf(roll_id: int, session: SessionDep, actor: PageActor) -> Response:
    """The roll's summary for signature (发放汇总表), as PDF."""
    s = summary.roll_summary(session, actor=actor, roll_id=roll_id, today=today())
    data = summary.render_pdf(s, program_label=LABELS.get(s.roll.program, s.roll.program))
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="roll-{roll_id}-summary.pdf"'})


@router.post("/lines/{line_id}/unmask")
def line_unmask(line_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                reason: Annotated[str, Form()] = "") -> HTMLResponse:
    """Reveal one line's account number for a stated reason (permission and audit entry); the fragment to swap in."""
    number = service.unmask_line_account(session, actor=actor, line_id=line_id, reason=reason)
    session.commit()
    return HTMLResponse(f'<span class="acct" title="已记录查看">{number}</span>')


def _funds(session: Session, actor: Actor, month: str, program: str) -> tuple[report.FundsReport, list[FieldError]]:
    errors: list[FieldError] = []
    try:
        m = service.parse_month(month) if month else today().replace(day=1)
    except ValidationFailed as exc:
        errors, m = exc.errors, today().replace(day=1)
    return report.funds_report(session, actor=actor, month=m, program=program), errors


@router.get("/funds")
def funds_page(request: Request, session: SessionDep, actor: PageActor, month: str = "",
               program: str = "") -> Response:
    """Funds per program and township for a month, the changes from the month before and their reasons."""
    r, errors = _funds(session, actor, month, program)
    rows = [{**row, "reasons": report.reason_text(r, row["program"], row["township"])}
            for row in r.rows.iter_rows(named=True)]
    totals = {k: int(r.rows[k].sum() or 0) for k in ("recipients", "amount_fen", "new", "stopped", "changed",
                                                      "prev_recipients", "prev_amount_fen")}
    return render(request, "payments/funds.html", {
        "month": f"{r.month:%Y-%m}", "program": program, "labels": LABELS, "rows": rows, "names": r.names,
        "totals": totals, "option": report.chart_option(r, LABELS), "yuan": service.yuan, "errors": errors},
        status_code=422 if errors else 200)


@router.get("/funds.xlsx")
def funds_excel(session: SessionDep, actor: PageActor, month: str = "", program: str = "") -> Response:
    """The funds report as Excel, through the shared writer."""
    r, errors = _funds(session, actor, month, program)
    if errors:
        raise ValidationFailed(errors)
    cols = [excel.Col("项目", 14), excel.Col("乡镇", 14), excel.Col("发放对象", 10), excel.Col("金额(元)", 14,
            number_format="0.00"), excel.Col("新增", 8), excel.Col("停发", 8), excel.Col("金额变化", 10),
            excel.Col("上月对象", 10), excel.Col("上月金额(元)", 14, number_format="0.00"),
            excel.Col("本月变更原因", 30)]
    rows = ([LABELS.get(x["program"], x["program"]), r.names.get(x["township"], x["township"]), x["recipients"],
             x["amount_fen"] / 100, x["new"], x["stopped"], x["changed"], x["prev_recipients"],
             x["prev_amount_fen"] / 100, report.reason_text(r, x["program"], x["township"])]
            for x in r.rows.iter_rows(named=True))
    caption = f"{r.month:%Y年%m月} 资金发放统计（按所属月份）"
    data = excel.to_bytes(excel.Sheet("资金发放统计", cols, rows, caption=caption))
    return Response(data, media_type=excel.MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="funds-{r.month:%Y-%m}.xlsx"'})


@register_chart
def _funds_chart(session: Session, actor: Actor, day: date) -> list[Chart]:
    """The dashboard's chart: this month's payments per township and program."""
    if not actor.can("payment.read"):
        return []
    r = report.funds_report(session, actor=actor, month=day.replace(day=1))
    if r.rows.is_empty():
        return []
    rows: list[list[object]] = [[LABELS.get(x["program"], x["program"]), r.names.get(x["township"], x["township"]),
                                 x["recipients"], service.yuan(x["amount_fen"]), x["new"], x["stopped"]]
                                for x in r.rows.iter_rows(named=True)]
    return [Chart("payments", f"资金发放：{r.month:%Y年%m月} 各乡镇发放金额（元）", report.chart_option(r, LABELS),
                  ["项目", "乡镇", "发放对象", "金额（元）", "新增", "停发"], rows)]


@router.post("/returns")
def return_upload(request: Request, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                  file: ReturnUpload) -> Response:
    """Import a bank return; a file that does not parse is shown with its line and reason, nothing changed."""
    try:
        ret = reconcile.reconcile(session, actor=actor, filename=file.filename or "return", data=file.check())
    except DoudiError as exc:
        session.rollback()
        errors = exc.errors if isinstance(exc, ValidationFailed) else [FieldError("file", str(exc))]
        return render(request, "payments/return.html", {"ret": None, "rows": [], "errors": errors, "total": 0,
                                                        "page": 1, "pages": 1, "outcome": ""}, status_code=422)
    session.commit()
    return RedirectResponse(f"/payments/returns/{ret.id}", status_code=303)


@router.get("/returns/{return_id}")
def return_page(request: Request, return_id: int, session: SessionDep, actor: PageActor, outcome: str = "",
                page: int = Query(1, ge=1)) -> Response:
    """One bank return: counts and every row with its class (quarantined rows with their reason)."""
    actor.require("payment.read")
    ret = session.get(BankReturn, return_id)
    if ret is None or not (actor.sees(ret.area_code) or actor.system):
        raise DoudiError("回盘记录不存在")
    rows, total = reconcile.return_rows(session, return_id=ret.id, outcome=outcome, page=page)
    return render(request, "payments/return.html", {"ret": ret, "rows": rows, "errors": [], "total": total,
                                                    "page": page, "pages": max(1, -(-total // 50)),
                                                    "outcome": outcome})


@router.get("/settlements")
def settlements_page(request: Request, session: SessionDep, actor: PageActor, month: str = "") -> Response:
    """Home-care settlements and what paid them: the line, its roll and the bank file that carried it."""
    errors: list[FieldError] = []
    try:
        m = service.parse_month(month) if month else None
    except ValidationFailed as exc:
        errors, m = exc.errors, None
    rows = payables.settlement_payments(session, actor=actor, month=m)
    return render(request, "payments/settlements.html", {
        **_ctx(), "rows": list(rows.iter_rows(named=True)), "month": month, "errors": errors},
        status_code=422 if errors else 200)


@router.get("/reserve")
def reserve_page(request: Request, session: SessionDep, actor: PageActor, township: str = "") -> Response:
    """A township's reserve-fund ledger with its balance, and the forms to spend, allot or replenish."""
    town = township or (actor.area_code[:9] if not county_or_above(actor) else "")
    rows = reserve.ledger(session, actor=actor, township=town) if town else []
    return render(request, "payments/reserve.html", {
        "town": town, "rows": rows, "balance": reserve.balance(session, township=town)[1] if town else 0,
        "yuan": service.yuan, "kinds": {str(k): v for k, v in reserve.KIND_LABELS.items()},
        "can_spend": actor.can("reserve.spend"), "can_manage": actor.can("reserve.manage"), "errors": []})


@router.post("/reserve")
def reserve_record(request: Request, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                   township: Annotated[str, Form()], kind: Annotated[str, Form()], amount: Annotated[str, Form()],
                   case_id: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "") -> Response:
    """Record one ledger entry; a refusal is shown on the ledger with its reason."""
    try:
        fen = int((Decimal(amount.strip()) * 100).to_integral_value())
        reserve.record(session, actor=actor, township=township.strip(), kind=kind, amount_fen=fen, today=today(),
                       case_id=int(case_id) if case_id.strip() else None, note=note)
    except (InvalidOperation, ValueError):
        return _reserve_error(request, session, actor, township, [FieldError("amount", "金额或案件编号格式不正确")])
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        errors = exc.errors if isinstance(exc, ValidationFailed) else [FieldError("amount", str(exc))]
        return _reserve_error(request, session, actor, township, errors)
    session.commit()
    return RedirectResponse(f"/payments/reserve?township={township.strip()}", status_code=303)


def _reserve_error(request: Request, session: SessionDep, actor: PageActor, township: str,
                   errors: list[FieldError]) -> Response:
    rows = reserve.ledger(session, actor=actor, township=township) if len(township) == 9 else []
    return render(request, "payments/reserve.html", {
        "town": township, "rows": rows, "balance": reserve.balance(session, township=township)[1],
        "yuan": service.yuan, "kinds": {str(k): v for k, v in reserve.KIND_LABELS.items()},
        "can_spend": actor.can("reserve.spend"), "can_manage": actor.can("reserve.manage"), "errors": errors},
        status_code=422)


def today() -> date:
    """The date pages use (one place to pin in tests)."""
    return clock.today()


@register_panel
def household_panel(session: Session, actor: Actor, household: Household) -> Panel | None:
    """The household's payments (its own and its members'), newest first, accounts masked."""
    if not actor.can("payment.read"):
        return None
    lines = service.household_lines(session, actor=actor, household_id=household.id)
    return Panel("资金发放记录", "payments/_panel.html", {
        **_ctx(), "lines": lines, "total_paid": sum(x.amount_fen for x in lines if x.status == "paid")})
