"""`doudi cases daily` (the scheduled job) and `doudi cases overdue` (a supervisor's list)."""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console
from rich.table import Table

from doudi.auth.permissions import system_actor
from doudi.auth.scope import in_subtree
from doudi.cases.enrollments import finalize_due
from doudi.cases.inbox import overdue_all
from doudi.core import clock
from doudi.db.engine import session_scope


def register(app: typer.Typer) -> None:
    """Add the case commands to the root app."""
    cases = typer.Typer(help="救助案件：每日任务与超时督办", no_args_is_help=True)
    app.add_typer(cases, name="cases")

    @cases.command("daily", help="每日任务：对公示期满的渐退和终止停发保障（由定时任务运行）")
    def daily(on: str = typer.Option("", "--date", help="作业日期 YYYY-MM-DD（默认今天）")) -> None:
        """Daily job: end gradual exits and terminations whose 公示 has passed (run from cron)."""
        today = date.fromisoformat(on) if on else clock.today()
        with session_scope() as session:
            done = finalize_due(session, actor=system_actor(name="daily"), today=today)
        typer.echo(f"{today}：{len(done)} 项保障已停发（自次月起）")

    @cases.command("overdue", help="列出所有超时环节（督办），超时最久的在前")
    def overdue(area: str = typer.Option("", "--area", help="只列出该区划内")) -> None:
        """List every overdue step (督办), oldest first."""
        actor = system_actor(name="cli")
        with session_scope() as session:
            rows = overdue_all(session, actor=actor)
            table = Table("时限", "案件", "申请人", "区划", "环节")
            for r in rows:
                if in_subtree(r.area_code, area):
                    table.add_row(str(r.due_on or r.due_at), r.case_no, r.applicant, r.area_code, r.step_label)
            Console().print(table)
