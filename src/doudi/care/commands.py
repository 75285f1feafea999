"""`doudi care plan|settle|payables|assess-due`: the monthly plan, the provider settlement, the payable sheet."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from doudi.auth.permissions import system_actor
from doudi.care import settlement, visits
from doudi.care.service import month_or_error, open_reassessments
from doudi.core import clock
from doudi.db.engine import session_scope


def _today(text: str | None) -> date:
    try:
        return date.fromisoformat(text) if text else clock.today()
    except ValueError:
        raise typer.BadParameter(f"日期格式应为 YYYY-MM-DD：{text!r}") from None


def register(app: typer.Typer) -> None:
    """Add `doudi care ...` to the root app."""
    care = typer.Typer(help="分散供养特困人员居家照料服务", no_args_is_help=True)
    app.add_typer(care, name="care")

    @care.command("plan", help="为已分派服务机构、当月尚未排班的人员生成当月上门服务计划")
    def plan(month: str = typer.Option(..., "--month", help="月份 YYYY-MM"),
             provider: int = typer.Option(None, "--provider", help="只为该服务机构编号排班")) -> None:
        """Create the month's visit plan for every assigned person with nothing booked yet."""
        m = month_or_error(month)
        with session_scope() as session:
            n = visits.plan_month(session, actor=system_actor(name="cli"), month=m, provider_id=provider)
        typer.echo(f"{m:%Y年%m月} 服务计划：新排上门服务 {n} 次")

    @care.command("settle", help="结算已结束的月份：只按核验通过的服务时长 × 合同单价，每家服务机构每月一次")
    def settle(month: str = typer.Option(..., "--month", help="结算月份 YYYY-MM"),
               provider: int = typer.Option(None, "--provider", help="只结算该服务机构编号"),
               day: str = typer.Option(None, "--date", help="按此日期运行（YYYY-MM-DD，默认今天）"),
               out: Path = typer.Option(None, "--out", help="另存结算表（Excel）")) -> None:
        """Settle a finished month: verified hours only × the contract price, once per provider and month."""
        m = month_or_error(month)
        with session_scope() as session:
            result = settlement.settle_month(session, actor=system_actor(name="cli"), month=m, today=_today(day),
                                             provider_id=provider)
            for s in result.created:
                typer.echo(f"结算单 #{s.id} {s.provider_key}：核验服务 {s.paid_minutes / 60:g} 小时 × "
                           f"{s.hourly_rate} 元 = {settlement.fen_to_yuan(s.amount_fen)} 元；"
                           f"不予结算 {s.unpaid_visits} 次")
            for line in result.skipped:
                typer.echo(line)
            if out is not None:
                from doudi.care.export import settlement_workbook  # openpyxl only when a sheet is asked for

                out.write_bytes(settlement_workbook(session, month=m))
                typer.echo(f"结算表已保存：{out}")

    @care.command("due", help="列出尚未完成的自理能力复评，到期早的在前")
    def due() -> None:
        """List the re-assessments not yet done, earliest due first."""
        with session_scope() as session:
            rows = open_reassessments(session, actor=system_actor(name="cli"))
            if not rows:
                typer.echo("没有待复核的自理能力评估。")
            for r in rows:
                typer.echo(f"人员 {r.person_id}  {r.area_code}  {r.reason}  限 {r.due_on:%Y-%m-%d} 前完成")
