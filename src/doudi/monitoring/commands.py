"""CLI: `doudi monitor run` (comparison) and `doudi monitor warnings` (ledger export), acting as the system user."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from doudi.auth.permissions import system_actor
from doudi.core import clock
from doudi.db.engine import session_scope

console = Console(stderr=True)


def _date(value: str | None) -> date:
    try:
        return date.fromisoformat(value) if value else clock.today()
    except ValueError:
        raise typer.BadParameter(f"日期格式应为 YYYY-MM-DD：{value!r}") from None


def register(app: typer.Typer) -> None:
    """Add the `monitor` group."""
    monitor = typer.Typer(help="动态监测预警：比对运行与预警台账", no_args_is_help=True)
    app.add_typer(monitor, name="monitor")

    @monitor.command("run", help="把家庭档案、保障对象和新到的部门数据批次逐条规则比对，输出各规则的预警数")
    def run_cmd(day: str = typer.Option(None, "--date", help="比对日期（YYYY-MM-DD，默认今天）"),
                area: str = typer.Option("", "--area", help="只比对该区划（默认全部）"),
                engine: str = typer.Option("polars", "--engine", help="计算引擎：单机（写入预警台账）或集群",
                                     metavar="polars|spark"),
                master: str = typer.Option(None, "--master", help="集群主节点地址（默认在本机运行）"),
                snapshot: Path = typer.Option(None, "--snapshot", help="集群引擎：监测输入的 Parquet 目录"),
                out: Path = typer.Option(None, "--out", help="集群引擎：结果 Parquet 目录")) -> None:
        """Compare the registry, enrollments and new feed batches with every rule; prints counts per rule."""
        if engine == "spark":
            from doudi.scale.commands import monitor_spark

            monitor_spark(on=_date(day), area=area, snapshot=snapshot, master=master, out=out)
            return
        if engine != "polars":
            raise typer.BadParameter(f"引擎只能是 polars 或 spark：{engine!r}")
        from doudi.monitoring.run import rule_specs, run

        on = _date(day)
        actor = system_actor(name="cli")
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task("读取档案与部门数据", total=None)

            def step(key: str, done: int, total: int) -> None:
                bar.update(task, description=f"规则 {key}", completed=done, total=total)

            with session_scope() as session:
                result = run(session, actor=actor, on=on, area=area, progress=step)
        labels = {k: s.label for k, s in rule_specs(area, on).items()}
        typer.echo(f"监测比对完成（{on}）：比对新批次 {len(result.batches)} 个")
        typer.echo(f"{'规则':<20}{'发现':>6}{'新增':>6}{'补充证据':>8}")
        for key, c in result.counts.items():
            typer.echo(f"{key:<20}{c['found']:>6}{c['new']:>6}{c['attached']:>8}  {labels.get(key, '')}")
        typer.echo(f"合计新增预警 {result.new} 条")

    @monitor.command("warnings", help="导出预警台账，每条预警一行"
                                       "（规则、等级、状态、家庭、姓名、身份证号、处置期限等）")
    def warnings_cmd(
        out: Path = typer.Option(..., "--out", help="输出文件"),
        fmt: str = typer.Option("csv", "--format", help="csv 或 xlsx"),
        rule: str = typer.Option("", "--rule", help="只导出该规则"),
        status: str = typer.Option("", "--status", help="只导出该状态：新预警、已分派、核实中、已处置、已关闭，"
                                                        "或全部未关闭",
                            metavar="new|assigned|verifying|disposed|closed|open"),
        unmask: bool = typer.Option(False, "--unmask", help="显示完整身份证号（须同时填写理由，记入审计）"),
        reason: str = typer.Option("", "--reason", help="显示完整身份证号的理由"),
        day: str = typer.Option(None, "--date", help="逾期判断日期（默认今天）"),
    ) -> None:
        """Write one row per warning (rule, level, status, household_id, person_name, id_number, due_date…)."""
        from doudi.core import excel
        from doudi.monitoring import export, service

        if fmt not in ("csv", "xlsx"):
            raise typer.BadParameter(f"--format 只能是 csv 或 xlsx：{fmt!r}")
        with session_scope() as session:
            data = export.rows(session, actor=system_actor(name="cli"), today=_date(day), unmask=unmask,
                               reason=reason, filters=service.Filters(rule=rule, status=status))
        if fmt == "csv":
            export.write_csv(out, data)
        else:
            excel.write(out, export.sheet(data))
        typer.echo(f"已导出 {len(data)} 条预警到 {out}")

    @monitor.command("dispositions", help="导入线下填写的处置结果；未导入的行连同行号和原因列出（退出码 2）")
    def dispositions_cmd(file: Path = typer.Option(..., "--file", help="填写了处置方式的台账（导出的 .xlsx 或 .csv）"),
                         day: str = typer.Option(None, "--date", help="处置日期（默认今天）")) -> None:
        """Import dispositions made offline; rejected rows are printed with line and reason (exit code 2)."""
        from doudi.monitoring import imports

        if not file.is_file():
            typer.echo(f"找不到文件 {file}", err=True)
            raise typer.Exit(2)
        try:
            with session_scope() as session:
                result = imports.import_dispositions(session, actor=system_actor(name="cli"), data=file.read_bytes(),
                                                     filename=file.name, today=_date(day))
        except imports.DispositionFileError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        typer.echo(f"已处置 {len(result.applied)} 条；未填写 {result.blank} 行；未导入 {len(result.rejected)} 行")
        for r in result.rejected:
            typer.echo(f"  {r.message}", err=True)
        if result.rejected:
            raise typer.Exit(2)
