"""CLI of the Spark jobs: `doudi scale duplicates` here; `doudi assess --engine spark` and
`doudi monitor run --engine spark` call into this package from their own commands."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import typer

from doudi.core.errors import FieldError, ValidationFailed


def monitor_spark(*, on: date, area: str, snapshot: Path | None, master: str | None, out: Path | None) -> None:
    """`doudi monitor run --engine spark`: the warning rules on Spark; warnings left as Parquet under `out`."""
    # Imported here: PySpark and the monitoring reader are loaded only when this command runs.
    from doudi.auth.permissions import system_actor
    from doudi.db.engine import session_scope
    from doudi.monitoring.read import new_batches, read_inputs
    from doudi.monitoring.run import rule_specs
    from doudi.scale.monitor import monitor, read_sides, write_inputs
    from doudi.scale.session import spark_session

    if out is None:
        raise ValidationFailed([FieldError(field="--out", message="Spark 比对须指定结果目录 --out")])
    system_actor(name="cli").require("monitoring.run")
    with tempfile.TemporaryDirectory(prefix="doudi-monitor-") as tmp:
        if snapshot is None:
            # A county's inputs are exported once for the executors (a province passes --snapshot instead).
            snapshot = Path(tmp) / "inputs"
            with session_scope() as session:
                inputs = read_inputs(session, on=on, area=area, batches=new_batches(session, area=area))
            write_inputs(inputs, snapshot)
        counts = monitor(spark_session(master, app="doudi-monitor"), directory=snapshot, on=on, out=out, area=area)
    labels = {k: s.label for k, s in rule_specs(area, on).items()}
    typer.echo(f"Spark 监测比对完成（{on}）：结果目录 {out / 'warnings'}（未写入预警台账）")
    for key, n in sorted(counts.items()):
        typer.echo(f"{key:<20}{n:>8}  {labels.get(key, '')}")
    typer.echo(f"合计 {sum(counts.values())} 条；跨县重复各县一侧 {read_sides(out).height} 条（{out / 'sides'}）")


def register(app: typer.Typer) -> None:
    """Add the `scale` group."""
    scale = typer.Typer(help="省级、全国批处理（分布式集群）", no_args_is_help=True)
    app.add_typer(scale, name="scale")

    @scale.command("duplicates", help="在集群上用概率匹配查找跨县重复、多头享受，不同县之间的匹配对写入 Parquet")
    def duplicates_cmd(persons: Path = typer.Argument(..., help="人员 Parquet 文件（列：记录号、姓名、身份证号、"
                                                                "出生日期、性别、住址、区划代码）"),
                       out: Path = typer.Option(..., "--out", help="结果目录（匹配对写入其下的子目录）"),
                       master: str = typer.Option(None, "--master", help="集群主节点地址（默认在本机运行）")) -> None:
        """Cross-county duplicates (重复、多头) with Splink on Spark; pairs in different counties to Parquet."""
        # Imported here: PySpark and Splink are loaded only when this command runs.
        from doudi.scale.linkage import cross_county_duplicates
        from doudi.scale.session import spark_session

        if not persons.exists():
            raise ValidationFailed([FieldError(field="PERSONS", message=f"文件不存在：{persons}")])
        result = cross_county_duplicates(spark_session(master, app="doudi-duplicates"), persons=persons, out=out)
        typer.echo(f"跨县重复：{result.pairs} 对（候选 {result.scored} 对），结果目录 {out / 'pairs'}")
