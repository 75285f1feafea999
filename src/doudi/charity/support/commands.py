"""`doudi charity support`: support plans, training outcomes, pairing agreements and overdue pledges."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from doudi.charity.fund.commands import actor_for, charity_group
from doudi.core import clock
from doudi.db.engine import session_scope


def register(app: typer.Typer) -> None:
    """Add `charity support …`."""
    support = typer.Typer(help="社工一对一帮扶、社工+家政培训转介、企业签约帮扶", no_args_is_help=True)
    charity_group(app).add_typer(support, name="support")

    @support.command("plans", help="列出帮扶计划")
    def plans(status: str = typer.Option("", "--status", help="计划状态：帮扶中或已结案", metavar="open|closed"),
              user: str = typer.Option(..., "--as", help="查询人用户名"),
              out: Path = typer.Option(None, "--out", help="写出 Excel 文件")) -> None:
        """List plans (with overdue visits marked), or write them to Excel."""
        from doudi.charity.support import export, service
        from doudi.charity.support.labels import PLAN_LABELS

        today = clock.today()
        with session_scope() as session:
            actor = actor_for(session, user)
            if out is not None:
                out.write_bytes(export.plans(session, actor=actor, status=status, today=today))
                typer.echo(f"已写出 {out}")
                return
            page = service.list_plans(session, actor=actor, status=status, per_page=200)
            table = Table("计划", "家庭", "社工", "开始", "最近走访", "状态")
            for p, last, hh_no in page.rows:
                late = p.status == "open" and service.visit_overdue(last, p.opened_on, area=p.area_code, today=today)
                table.add_row(str(p.id), hh_no, p.worker_name, str(p.opened_on),
                              f"{last or '—'}{'（走访逾期）' if late else ''}", PLAN_LABELS.get(p.status, p.status))
        Console().print(table)
        typer.echo(f"共 {page.total} 个计划")

    @support.command("outcome", help="登记培训结果（就业即转入渐退复核）")
    def outcome(training_id: int = typer.Argument(..., help="培训转介编号"),
                result: str = typer.Option(..., "--result", help="培训结果：已完成培训、已就业或未就业",
                                    metavar="trained|employed|not_employed"),
                employer: str = typer.Option("", "--employer", help="用工单位"),
                wage: str = typer.Option("", "--wage", help="月工资（元）"),
                user: str = typer.Option(..., "--as", help="经办人用户名")) -> None:
        """Record a training referral's outcome (employment raises the 渐退 review)."""
        from doudi.charity.fund import forms
        from doudi.charity.support import flows
        from doudi.charity.support.labels import TRAINING_LABELS

        with session_scope() as session:
            t = flows.record_outcome(session, actor=actor_for(session, user), training_id=training_id, version=None,
                                     outcome=result, on=clock.today(), employer=employer,
                                     monthly_wage_fen=forms.fen(wage, "wage", "月工资") if wage else None)
            review = f"，已提请渐退复核（预警 {t.review_warning_id}）" if t.review_warning_id else ""
            typer.echo(f"培训转介 {t.id}：{TRAINING_LABELS.get(t.status, t.status)}{review}")

    @support.command("overdue", help="列出逾期未兑现的签约帮扶事项")
    def overdue(user: str = typer.Option(..., "--as", help="查询人用户名"),
                out: Path = typer.Option(None, "--out", help="写出 Excel 文件")) -> None:
        """Pledged items of pairing agreements overdue (non-zero exit when there are any)."""
        from doudi.charity.fund.labels import yuan
        from doudi.charity.support import export, pairing

        today = clock.today()
        with session_scope() as session:
            actor = actor_for(session, user)
            page = pairing.list_items(session, actor=actor, today=today, overdue=True, per_page=500)
            if out is not None:
                out.write_bytes(export.items(session, actor=actor, today=today, overdue=True))
            table = Table("协议", "企业", "家庭", "内容", "价值(元)", "约定日期")
            for it, g in page.rows:
                table.add_row(str(g.id), g.company_name, str(g.household_id), it.description, yuan(it.value_fen),
                              str(it.due_on))
        Console().print(table)
        typer.echo(f"逾期未兑现 {page.total} 项" + (f"，已写出 {out}" if out else ""))
        if page.total:
            raise typer.Exit(1)

    @support.command("end-due", help="结束已到期的签约帮扶协议")
    def end_due() -> None:
        """End the agreements past their end date (daily)."""
        from doudi.auth.permissions import system_actor
        from doudi.charity.support import pairing

        with session_scope() as session:
            n = pairing.end_due(session, actor=system_actor(name="cli"), today=clock.today())
        typer.echo(f"已到期结束 {n} 份签约帮扶协议")
