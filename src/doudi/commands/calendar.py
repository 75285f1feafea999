"""`doudi calendar add-workdays` and `doudi calendar is-workday`."""

from __future__ import annotations

from datetime import date

import typer

from doudi.policy.calendar import calendar_for


def _parse(day: str) -> date:
    try:
        return date.fromisoformat(day)
    except ValueError:
        raise typer.BadParameter(f"日期格式应为 YYYY-MM-DD：{day!r}") from None


def register(app: typer.Typer) -> None:
    """Add the calendar commands to the root app."""
    cal = typer.Typer(help="工作日计算（国务院节假日安排）", no_args_is_help=True)
    app.add_typer(cal, name="calendar")

    @cal.command("add-workdays", help="计算某日之后第 N 个工作日的日期")
    def add_workdays(
        day: str = typer.Argument(..., help="起算日期 YYYY-MM-DD"),
        n: int = typer.Argument(..., min=0, help="工作日数"),
        region: str = typer.Option(None, "--region", help="区划代码（使用该地政策包中的日历数据）"),
    ) -> None:
        """Print the date that is N working days after the given date."""
        start = _parse(day)
        calendar = calendar_for(region)
        result = calendar.add_workdays(start, n)
        for warning in calendar.warnings_for(start, result):
            typer.echo(f"警告：{warning}", err=True)
        typer.echo(result.isoformat())

    @cal.command("is-workday", help="判断某日是否为工作日（输出真或假）")
    def is_workday(
        day: str = typer.Argument(..., help="日期 YYYY-MM-DD"),
        region: str = typer.Option(None, "--region", help="区划代码"),
    ) -> None:
        """Print true or false."""
        d = _parse(day)
        calendar = calendar_for(region)
        for warning in calendar.warnings_for(d):
            typer.echo(f"警告：{warning}", err=True)
        typer.echo("true" if calendar.is_workday(d) else "false")
