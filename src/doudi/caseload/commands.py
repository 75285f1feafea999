"""`doudi import enrollments FILE` (alias `recipients`) and `doudi caseload check`: the migrated caseload."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from doudi.audit import service as audit
from doudi.auth.permissions import system_actor
from doudi.caseload.check import check_sheet
from doudi.caseload.export import enrollments_frame, facts_frame, households_frame, write_export
from doudi.caseload.flows import check_caseload
from doudi.caseload.importer import EnrollmentImportResult, import_enrollments
from doudi.core import clock
from doudi.core.excel import write
from doudi.db.engine import session_scope
from doudi.registry.commands import EXIT_PARTIAL
from doudi.registry.preview import preview
from doudi.registry.reports import write_rejects

EXPORTER = system_actor(name="export")


def _audit_export(session: Session, what: str, out: Path, rows: int) -> None:
    # Exports carry full ID numbers (they must import again): who took what, and how much, is recorded.
    audit.record(session, actor=EXPORTER, action="caseload.export", object_type="export", object_id=what,
                 extra={"file": out.name, "rows": rows})


def print_enrollment_summary(result: EnrollmentImportResult, console: Console, *, dry_run: bool,
                             report: Path | None) -> None:
    """Print what an enrollment import did (or would do)."""
    if result.duplicate_of is not None:
        console.print(f"文件 {result.file_name} 的内容已于批次 #{result.duplicate_of} 导入，本次未做任何更改。")
        return
    for warning in result.warnings:
        console.print(f"[yellow]提示：{warning}[/]")
    head = "预览（未写入）" if dry_run else f"批次 #{result.batch_id}"
    console.print(f"{head}：共 {result.rows_total} 行，导入 {result.rows_ok} 行，隔离 {result.rows_rejected} 行；"
                  f"新增存量保障 {result.new} 条，更新 {result.updated} 条，未变 {result.unchanged} 条"
                  f"（其中 {result.start_unknown} 条台账未载起始月份）。")
    if result.rows_rejected:
        table = Table("行号", "字段", "原因", title="被隔离的行（前 20 条）")
        for row in result.rejects.head(20).iter_rows():
            table.add_row(str(row[0]), str(row[1]), str(row[2]))
        console.print(table)
    if report is not None:
        console.print(f"完整的隔离报告：{report}")
    if not dry_run and result.new + result.updated:
        console.print("下一步：运行 doudi caseload check，按现有事实重新测算存量对象，并把不一致写入监测预警台账。")


def _import(path: Path, dry_run: bool) -> None:
    console = Console()
    with session_scope() as session:
        def run() -> EnrollmentImportResult:
            return import_enrollments(session, actor=system_actor(name="import"), path=path)
        result = preview(session, run) if dry_run else run()
    print_enrollment_summary(result, console, dry_run=dry_run,
                             report=None if dry_run else write_rejects(result.rejects, path))
    if result.rows_rejected:
        raise typer.Exit(EXIT_PARTIAL)


def register(app: typer.Typer) -> None:
    """Add `doudi import enrollments|recipients` to the import group and `doudi caseload check`."""
    group = next(g.typer_instance for g in app.registered_groups if g.name == "import")
    assert group is not None, "doudi.registry.commands registers the import group first"

    @group.command("enrollments", help="导入存量保障对象；有误的行连同行号、字段和原因隔离")
    def enrollments(path: Path = typer.Argument(..., help="存量保障对象台账（CSV、XLSX 或 Parquet）"),
                    dry_run: bool = typer.Option(False, "--dry-run", help="只校验并预览，不写入")) -> None:
        """Import current recipients (存量对象); bad rows are quarantined with row, field and reason."""
        _import(path, dry_run)

    @group.command("recipients", help="导入存量保障对象（别名，用法相同）")
    def recipients(path: Path = typer.Argument(..., help="存量保障对象台账（CSV、XLSX 或 Parquet）"),
                   dry_run: bool = typer.Option(False, "--dry-run", help="只校验并预览，不写入")) -> None:
        """Same as `doudi import enrollments`."""
        _import(path, dry_run)

    caseload = typer.Typer(help="存量对象（台账迁移）", no_args_is_help=True)
    app.add_typer(caseload, name="caseload")

    @caseload.command("check", help="按现有事实重新测算全部存量对象，列出台账与测算结果不一致之处，"
                                     "并作为预警写入监测预警台账")
    def check(on: str = typer.Option(None, "--date", help="测算日期（默认今天）"),
              out: Path = typer.Option(None, "--out", help="核查清单另存为 XLSX"),
              ledger: bool = typer.Option(True, "--ledger/--no-ledger",
                                          help="同时运行监测比对，把不一致写入监测预警台账（默认写入）")) -> None:
        """Re-assess every migrated recipient, list where the ledger and the engine differ, and raise the
        differences as warnings in the monitoring ledger."""
        when = date.fromisoformat(on) if on else clock.today()
        with session_scope() as session:
            outcome = check_caseload(session, actor=system_actor(name="caseload"), on=when, ledger=ledger)
        findings = outcome.findings
        console = Console()
        console.print(f"存量对象核查（{when}）：{findings.height} 条与台账不一致")
        for finding, n in findings.group_by("finding").len().sort("len", descending=True).head(10).iter_rows():
            console.print(f"  {n:>6}  {finding}")
        if outcome.ledger is not None:
            console.print(f"已运行监测比对（第 {outcome.ledger.run_id} 次）：新增预警 {outcome.ledger.new} 条，"
                          f"其中“持续监测：最新测算与在保待遇不一致” {outcome.warnings_new} 条，"
                          "由所在乡镇（街道）在期限内核实处置")
        if out is not None:
            write(out, check_sheet(findings, when))
            console.print(f"核查清单：{out}")

    export = typer.Typer(help="按导入格式导出（可再导入）", no_args_is_help=True)
    app.add_typer(export, name="export")

    @export.command("households", help="按家庭档案导入格式导出现有家庭及成员")
    def export_households(out: Path = typer.Option(..., "--out", help="目标文件（.csv、.xlsx 或 .parquet）")) -> None:
        """Export current households and members in the household import format."""
        with session_scope() as session:
            n = write_export(households_frame(session, actor=EXPORTER), out, "家庭档案")
            _audit_export(session, "households", out, n)
        typer.echo(f"已导出 {n} 名成员到 {out}")

    @export.command("facts", help="按事实导入格式导出某一类现有的申报或调查事实")
    def export_facts(out: Path = typer.Option(..., "--out", help="目标文件（.csv、.xlsx 或 .parquet）"),
                     kind: str = typer.Option(..., "--kind", help="事实类别：收入、财产、刚性支出或居住条件",
                                               metavar="income|assets|expenses|living")) -> None:
        """Export current declared and investigated facts of one kind in the fact import format."""
        with session_scope() as session:
            n = write_export(facts_frame(session, actor=EXPORTER, kind=kind), out, kind)
            _audit_export(session, f"facts_{kind}", out, n)
        typer.echo(f"已导出 {n} 条到 {out}")

    @export.command("enrollments", help="按存量对象导入格式导出在保对象")
    def export_enrollments(out: Path = typer.Option(..., "--out", help="目标文件（.csv、.xlsx 或 .parquet）")) -> None:
        """Export active enrollments in the enrollment import format."""
        with session_scope() as session:
            n = write_export(enrollments_frame(session, actor=EXPORTER), out, "保障对象")
            _audit_export(session, "enrollments", out, n)
        typer.echo(f"已导出 {n} 条到 {out}")
