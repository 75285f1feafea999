"""`doudi areas import FILE` and `doudi areas list`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from doudi.areas import service
from doudi.areas.codes import LEVELS, scope_prefix
from doudi.areas.models import Area
from doudi.core.errors import FieldError, ValidationFailed
from doudi.db.engine import session_scope


def register(app: typer.Typer) -> None:
    """Add the area commands to the root app."""
    areas = typer.Typer(help="行政区划", no_args_is_help=True)
    app.add_typer(areas, name="areas")

    @areas.command("import", help="导入官方行政区划代码文件（CSV 或 XLSX，含区划代码和名称两列）")
    def import_file(path: Path = typer.Argument(..., exists=True, dir_okay=False,
                                                help="区划代码文件（CSV 或 XLSX）")) -> None:
        """Import an official division-code file (CSV or XLSX with columns code,name)."""
        rows = service.parse_division_file(path)
        with session_scope() as session:
            changed = service.upsert_areas(session, rows=rows)
        typer.echo(f"读取 {len(rows)} 条区划，新增或更新 {changed} 条")

    @areas.command("list", help="列出行政区划，可按上级区划和级别筛选")
    def list_areas(under: str = typer.Option("", help="只列出该区划及其下级（区划代码，或代码前缀如 3707）"),
                   level: str = typer.Option("", help="级别：省、市、县、乡镇或村",
                                             metavar="province|city|county|township|village")) -> None:
        """List divisions, optionally under one area and of one level."""
        if under and not under.isdigit():
            raise ValidationFailed([FieldError("--under", f"应为区划代码或代码前缀（数字）：{under!r}")])
        if level and level not in LEVELS:
            raise ValidationFailed([FieldError("--level", f"级别应为 {'、'.join(LEVELS)} 之一：{level!r}")])
        with session_scope() as session:
            q = select(Area).order_by(Area.code)
            if under:  # a whole code stands for its subtree (370700 → 3707…); a shorter one is a prefix
                q = q.where(Area.code.startswith(scope_prefix(under) if len(under) in (6, 9, 12) else under))
            if level:
                q = q.where(Area.level == level)
            table = Table("代码", "名称", "级别", "来源")
            for a in session.scalars(q):
                table.add_row(a.code, a.name, a.level, "模拟" if a.synthetic else a.source)
            Console().print(table)
