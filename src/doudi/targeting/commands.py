"""CLI: `doudi report verification-effect --from D --to D [--area CODE] [--out FILE.xlsx]` (the system user)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from doudi.auth.permissions import system_actor
from doudi.db.engine import session_scope


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{option} 日期格式应为 YYYY-MM-DD：{value!r}") from None


def register(app: typer.Typer) -> None:
    """Add the `report` group."""
    report = typer.Typer(help="统计报表", no_args_is_help=True)
    app.add_typer(report, name="report")

    @report.command("verification-effect", help="核对成效：按乡镇和月份统计因核对而改变的认定、"
                                                  "核对发现的问题及月度金额")
    def verification_effect_cmd(
        start: str = typer.Option(..., "--from", help="开始日期（YYYY-MM-DD，含）"),
        end: str = typer.Option(..., "--to", help="结束日期（YYYY-MM-DD，含）"),
        area: str = typer.Option("", "--area", help="只统计该区划（默认全部）"),
        out: Path | None = typer.Option(None, "--out", help="另存为 Excel 文件"),
    ) -> None:
        """核对成效: per township and month, decisions verification changed, what it found, the monthly amount."""
        from doudi.areas import service as areas
        from doudi.core import excel
        from doudi.targeting import export, service

        frm, to = _date(start, "--from"), _date(end, "--to")
        with session_scope() as session:
            effect = service.verification_effect(session, actor=system_actor(name="cli"), start=frm, end=to,
                                                 area=area)
            names = areas.names(session, codes=set(effect.requests["township"].to_list())) if not effect.empty \
                else {}
        if effect.empty:
            typer.echo(f"{frm} 至 {to} 没有核对记录")
            return
        sheets = export.sheets(effect, names)
        for sheet in sheets:
            typer.echo(f"== {sheet.title}")
            typer.echo("\t".join(c.header for c in sheet.cols()))
            for row in sheet.rows:
                typer.echo("\t".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row))
        if out is not None:
            excel.write(out, *sheets)
            typer.echo(f"已导出到 {out}")
