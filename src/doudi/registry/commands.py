"""`doudi import households FILE`: the registry import from the command line."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from doudi.auth.permissions import system_actor
from doudi.db.engine import session_scope
from doudi.registry.importer import ImportResult, import_households, write_report

EXIT_PARTIAL = 3  # some rows were quarantined; the good ones are committed


def print_summary(result: ImportResult, report: Path | None, console: Console) -> None:
    """Print what an import did, with the first rejected rows."""
    if result.duplicate_of is not None:
        console.print(f"文件 {result.file_name} 的内容已于批次 #{result.duplicate_of} 导入，本次未做任何更改。")
        return
    for warning in result.warnings:
        console.print(f"[yellow]提示：{warning}[/]")
    c = result.counts
    console.print(
        f"批次 #{result.batch_id}：共 {result.rows_total} 行，导入 {result.rows_ok} 行（{result.households_ok} 户），"
        f"隔离 {result.rows_rejected} 行（{result.households_rejected} 户）。"
    )
    console.print(
        f"新增 {c.get('households_new', 0)} 户、{c.get('persons_new', 0)} 人；"
        f"更新 {c.get('households_updated', 0)} 户、{c.get('persons_updated', 0)} 人；"
        f"新增成员关系 {c.get('memberships_new', 0)}，结束 {c.get('memberships_closed', 0)}。"
    )
    if report is not None:
        table = Table("行号", "字段", "原因", title="被隔离的行（前 20 条）")
        for row in result.rejects.head(20).iter_rows():
            table.add_row(str(row[0]), row[1], row[2])
        console.print(table)
        console.print(f"完整的隔离报告：{report}")


def register(app: typer.Typer) -> None:
    """Add `doudi import …` to the root app."""
    group = typer.Typer(help="数据导入", no_args_is_help=True)
    app.add_typer(group, name="import")

    @group.command("households")
    def households(path: Path = typer.Argument(..., help="家庭档案文件（CSV 或 XLSX）")) -> None:
        """Import a household registry file; bad households are quarantined with row, field and reason."""
        console = Console()
        with session_scope() as session:
            result = import_households(session, actor=system_actor(name="import"), path=path)
        report = write_report(result, path)
        print_summary(result, report, console)
        if result.rows_rejected:
            raise typer.Exit(EXIT_PARTIAL)
