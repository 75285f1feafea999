"""`doudi daily`: the jobs a county runs every day (monitoring, payment rolls, care deadlines), in order."""

from __future__ import annotations

import importlib
from datetime import date

import typer

from doudi.core import clock

# Each module exposes `daily(session, *, today) -> str`, one line of Chinese summary; domains append theirs.
DAILY_JOBS: list[str] = [
    "doudi.monitoring.jobs",
    "doudi.monitoring.escalation",  # referrals unanswered past their due date raised to the county
    "doudi.payments.jobs",  # the month's payment rolls, in the window the pack sets (after monitoring's stops)
    "doudi.care.daily",  # no-shows, ended entitlements, yearly reviews
    "doudi.charity.jobs",  # unanswered proposals expire, overdue needs escalate (督办)
    "doudi.charity.support.jobs",  # pairing agreements past their end
    "doudi.audit.jobs",  # a signed checkpoint of the audit chain's head in the file store
]


def run_daily(*, today: date) -> list[str]:
    """Run every registered job, each in its own transaction, and return their summaries."""
    from doudi.db.engine import session_scope  # the engine is built from settings only when a command runs

    lines = []
    for name in DAILY_JOBS:
        with session_scope() as session:
            lines.append(importlib.import_module(name).daily(session, today=today))
    return lines


def register(app: typer.Typer) -> None:
    """Add `doudi daily` to the root app."""

    @app.command("daily", help="运行每日任务：监测比对、发放窗口内生成花名册、照料服务期限等")
    def daily(day: str = typer.Option(None, "--date", help="按此日期运行（YYYY-MM-DD，默认今天）")) -> None:
        """Run the daily jobs: monitoring comparison, payment rolls in their window, care deadlines."""
        try:
            today = date.fromisoformat(day) if day else clock.today()
        except ValueError:
            raise typer.BadParameter(f"日期格式应为 YYYY-MM-DD：{day!r}") from None
        lines = run_daily(today=today)
        if not lines:
            typer.echo("没有登记的每日任务。")
        for line in lines:
            typer.echo(line)
