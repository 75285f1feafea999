"""`doudi import households FILE`: the registry import from the command line."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from doudi.auth.permissions import system_actor
from doudi.db.engine import session_scope
from doudi.registry.facts_import import KIND_LABELS, KINDS, FactImportResult, import_facts
from doudi.registry.importer import ImportResult, import_households, write_report
from doudi.registry.preview import preview
from doudi.registry.reports import write_rejects

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

    @group.command("households", help="导入家庭档案文件；有问题的家庭连同行号、字段和原因隔离")
    def households(path: Path = typer.Argument(..., help="家庭档案文件（CSV 或 XLSX）"),
                   dry_run: bool = typer.Option(False, "--dry-run", help="只校验并预览，不写入")) -> None:
        """Import a household registry file; bad households are quarantined with row, field and reason."""
        console = Console()
        with session_scope() as session:
            def run() -> ImportResult:
                return import_households(session, actor=system_actor(name="import"), path=path)
            result = preview(session, run) if dry_run else run()
        if dry_run:
            console.print("[yellow]预览（未写入）：[/]")
        report = None if dry_run else write_report(result, path)
        print_summary(result, report, console)
        if dry_run and result.rows_rejected:
            _print_rejects(result.rejects.select("row_number", "field", "reason"), console)
        if result.rows_rejected:
            raise typer.Exit(EXIT_PARTIAL)

    @group.command("facts", help="导入申报或调查核实的事实；有误的行连同行号、字段和原因隔离")
    def facts(path: Path = typer.Argument(..., help="事实文件（CSV、XLSX 或 Parquet）"),
              kind: str = typer.Option(..., "--kind",
                                       help="事实类别：收入、财产、刚性支出或居住条件",
                                       metavar="income|assets|expenses|living"),
              dry_run: bool = typer.Option(False, "--dry-run", help="只校验并预览，不写入")) -> None:
        """Import declared or investigated facts; bad rows are quarantined with row, field and reason."""
        console = Console()
        if kind not in KINDS:
            console.print(f"[red]--kind 应为 {'、'.join(KINDS)} 之一，实际为 {kind}[/]")
            raise typer.Exit(2)
        with session_scope() as session:
            def run() -> FactImportResult:
                return import_facts(session, actor=system_actor(name="import"), kind=kind, path=path)
            result = preview(session, run) if dry_run else run()
        report = None if dry_run else write_rejects(result.rejects, path)
        print_fact_summary(result, console, dry_run=dry_run, report=report)
        if result.rows_rejected:
            raise typer.Exit(EXIT_PARTIAL)


def _print_rejects(rejects: pl.DataFrame, console: Console) -> None:
    table = Table("行号", "字段", "原因", title="被隔离的行（前 20 条）")
    for row in rejects.head(20).iter_rows():
        table.add_row(str(row[0]), str(row[1]), str(row[2]))
    console.print(table)


def print_fact_summary(result: FactImportResult, console: Console, *, dry_run: bool, report: Path | None) -> None:
    """Print what a fact import did (or would do)."""
    if result.duplicate_of is not None:
        console.print(f"文件 {result.file_name} 的内容已于批次 #{result.duplicate_of} 导入，本次未做任何更改。")
        return
    for warning in result.warnings:
        console.print(f"[yellow]提示：{warning}[/]")
    head = "预览（未写入）" if dry_run else f"批次 #{result.batch_id}"
    console.print(f"{head}：{KIND_LABELS[result.kind]}共 {result.rows_total} 行，导入 {result.rows_ok} 行，"
                  f"隔离 {result.rows_rejected} 行；新增 {result.new} 条，更正（取代旧记录）{result.superseded} 条，"
                  f"未变 {result.unchanged} 条。")
    if result.rows_rejected:
        _print_rejects(result.rejects.select("row_number", "field", "reason"), console)
    if report is not None:
        console.print(f"完整的隔离报告：{report}")
