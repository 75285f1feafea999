"""CLI: ``doudi policy show|check``, ``doudi evaluate``, ``doudi assess``, ``doudi simulate``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from doudi.core import clock
from doudi.core.errors import DoudiError, FieldError, ValidationFailed
from doudi.policy.labels import parameter_label

if TYPE_CHECKING:
    from doudi.policy.frames import Frames

# Why households go unassessed: a region without a complete pack, or a value every rule reads missing.
SKIPPED_WHY = "所在地区参数包不完整或缺少必需信息"


def _date(value: str | None, field: str = "--date") -> date:
    if not value:
        return clock.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed([FieldError(field=field, message=f"应为 YYYY-MM-DD 日期：{value!r}")]) from None


def _show_value(value: Any) -> str:
    if isinstance(value, list | dict):
        text = json.dumps(value, ensure_ascii=False, default=str)
        return text if len(text) <= 80 else text[:77] + "…"
    return str(value)


def register(app: typer.Typer) -> None:
    """Add the policy commands to the root app."""
    policy = typer.Typer(help="政策参数包", no_args_is_help=True)
    app.add_typer(policy, name="policy")

    @policy.command("show", help="列出某区划在某日有效的参数；待确认的值标“⚠ 待确认”")
    def show(region: str = typer.Option(..., "--region", help="区划代码（县级或更细）"),
             on: str = typer.Option(None, "--date", help="生效日期 YYYY-MM-DD（默认今天）"),
             as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
        """List the parameters in force for a region on a date; provisional values are marked ⚠ 待确认."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from rich.console import Console
        from rich.table import Table

        from doudi.policy.params import PackError, load_pack

        when = _date(on)
        try:
            pack = load_pack(region)
        except (PackError, ValueError) as exc:
            raise ValidationFailed([FieldError(field="--region", message=str(exc))]) from None
        rows = []
        for key in pack.names():
            prm = pack.param(key)
            value = prm.at(when, None)
            if value is None:
                continue
            src = prm.source_on(when)
            rows.append({"key": key, "value": value, "unit": src.unit, "ref": src.ref, "region": src.region,
                         "provisional": src.provisional, "note": src.note})
        if as_json:
            typer.echo(json.dumps({"region": pack.region, "name": pack.name, "version": pack.version,
                                   "date": when.isoformat(), "parameters": rows}, ensure_ascii=False, default=str,
                                  indent=2))
            return
        table = Table(title=f"{pack.name}（{pack.region}）{when} 有效参数  版本 {pack.version}")
        for col in ("参数", "值", "单位", "依据", "来源包", "状态"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(r["key"], _show_value(r["value"]), r["unit"], r["ref"], r["region"],
                          "⚠ 待确认 (provisional)" if r["provisional"] else "")
        Console(width=200).print(table)
        n_prov = sum(r["provisional"] for r in rows)
        typer.echo(f"共 {len(rows)} 项参数，其中 {n_prov} 项待确认（provisional）。")

    @policy.command("check", help="校验全部参数包文件；有问题时指明文件和参数，退出码 2")
    def check() -> None:
        """Validate every pack file; exit 2 naming the file and key of each problem."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.policy.params import PackError, all_pack_files

        try:
            files = all_pack_files()
        except PackError as exc:
            raise ValidationFailed([FieldError(field="pack", message=str(exc))]) from None
        typer.echo(f"参数包有效：{', '.join(f.path.name for f in files)}")

    @app.command("evaluate", help="对 JSON 格式的家庭测算全部救助项目，输出 JSON（输入有误时退出码 2）")
    def evaluate_cmd(file: Path = typer.Argument(..., help="家庭 JSON 文件（对象或数组）"),
                     on: str = typer.Option(None, "--date", help="测算日期 YYYY-MM-DD"),
                     compact: bool = typer.Option(False, "--compact", help="紧凑输出")) -> None:
        """Evaluate every program for a household given as JSON; prints JSON (exit 2 on bad input)."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.policy.service import evaluate_many, parse_households

        if not file.exists():
            raise ValidationFailed([FieldError(field="FILE", message=f"文件不存在：{file}")])
        households, many, file_date = parse_households(file.read_bytes())
        when = _date(on) if on else (file_date or _date(None))
        results = evaluate_many(households, when)
        out = results if many else results[0]
        typer.echo(json.dumps(out, ensure_ascii=False, indent=None if compact else 2))

    @app.command("assess", help="对全部家庭档案（或 Parquet 快照）测算全部救助项目，并保存认定结果")
    def assess_cmd(on: str = typer.Option(None, "--date", help="测算日期（默认今天）"),
                   area: str = typer.Option("", "--area", help="只评估该区划（代码前缀）"),
                   snapshot: Path = typer.Option(None, "--snapshot", help="从 Parquet 快照目录读取，而非数据库"),
                   export: Path = typer.Option(None, "--export-snapshot", help="把档案另存为 Parquet 快照"),
                   engine: str = typer.Option("polars", "--engine", help="计算引擎：单机或集群",
                                              metavar="polars|spark"),
                   master: str = typer.Option(None, "--master",
                                              help="集群主节点地址，如 spark://host:7077（默认在本机运行）"),
                   out: Path = typer.Option(None, "--out", help="结果 Parquet 目录（供省级数仓使用）；单机引擎给出时"
                                            "分块测算，内存不随档案规模增长"),
                   store: bool = typer.Option(True, "--store/--no-store", help="给出结果目录时：结果是否同时写入本库"
                                             "评估批次"),
                   chunk: int = typer.Option(None, "--chunk", help="单机分块测算：每块户数", min=1),
                   partitions: int = typer.Option(None, "--partitions", help="集群引擎：分区数（至少 8）"),
                   ) -> None:
        """Assess the whole registry (or a Parquet snapshot) for every program and store the decisions."""
        if engine not in ("polars", "spark"):
            raise ValidationFailed([FieldError(field="--engine", message=f"引擎只能是 polars 或 spark：{engine!r}")])
        if engine == "spark":
            _assess_spark(on=_date(on), area=area, snapshot=snapshot, master=master, out=out, store=store,
                          partitions=partitions)
            return
        if out is not None:
            _assess_chunked(on=_date(on), area=area, snapshot=snapshot, out=out, store=store, chunk=chunk)
            return
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        from doudi.auth.permissions import system_actor
        from doudi.db.engine import session_scope
        from doudi.policy.batch import run_assessment
        from doudi.policy.frames import read_snapshot, write_snapshot
        from doudi.policy.registry_frames import read_registry

        when = _date(on)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      transient=True) as progress, session_scope() as session:
            task = progress.add_task("读取家庭档案…", total=None)
            if snapshot is not None:
                try:
                    frames = read_snapshot(snapshot)
                except FileNotFoundError as exc:
                    raise ValidationFailed([FieldError(field="--snapshot", message=str(exc))]) from None
                frames = _in_area(frames, area)
                source, detail = "snapshot", str(snapshot)
            else:
                frames = read_registry(session.connection(), on=when, area_prefix=area)
                source, detail = "registry", ""
            if export is not None:
                write_snapshot(frames, export)
            progress.update(task, description=f"测算 {len(frames)} 户…")
            run = run_assessment(session, actor=system_actor(area or "000000", "cli"), frames=frames, on=when,
                                 source=source, source_detail=detail, area_prefix=area)
            progress.update(task, description="写入结果…")
        typer.echo(f"评估批次 #{run.id}：{run.households} 户，{run.persons} 人，测算日期 {when}，"
                   f"参数包 {_versions(dict(run.pack_versions or {}))}，用时 {run.duration_ms} 毫秒")
        for key, s in run.summary.items():
            if key == "skipped":
                typer.echo(f"  未评估 {s['households']} 户：{'；'.join(s['reasons'])}", err=True)
                continue
            typer.echo(f"  {parameter_label(key):<16} {s['households']:>8} 户 {s['persons']:>8} 人 "
                       f"{s['monthly_cost']:>14,.2f} 元/月")

    @app.command("simulate", help="政策调整模拟：按乡镇和项目计算符合条件的户数、人数和月支出的变化")
    def simulate_cmd(sets: list[str] = typer.Option(..., "--set", help="参数调整，写作“参数键=新值”，可重复",
                                                      metavar="参数键=值"),
                     on: str = typer.Option(None, "--date", help="测算日期（默认今天）"),
                     area: str = typer.Option("", "--area", help="只模拟该区划（代码前缀）"),
                     snapshot: Path = typer.Option(None, "--snapshot", help="Parquet 快照目录"),
                     as_json: bool = typer.Option(False, "--json", help="输出 JSON")) -> None:
        """Reform simulation: change in eligible households, persons and monthly cost, per township and program."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.db.engine import session_scope
        from doudi.policy.frames import read_snapshot
        from doudi.policy.registry_frames import read_registry
        from doudi.policy.simulate import parse_overrides, simulate

        overrides = parse_overrides(sets)
        when = _date(on)
        if snapshot is not None:
            frames = _in_area(read_snapshot(snapshot), area)
        else:
            with session_scope() as session:
                frames = read_registry(session.connection(), on=when, area_prefix=area)
        if len(frames) == 0:
            raise ValidationFailed([FieldError(field="--area", message="范围内没有家庭档案")])
        report = simulate(frames, when, overrides)
        if as_json:
            typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2, default=str))
            return
        _print_report(report)


def _assess_spark(*, on: date, area: str, snapshot: Path | None, master: str | None, out: Path | None,
                  store: bool, partitions: int | None) -> None:
    """`doudi assess --engine spark`: the same rules on Spark partitions; Parquet out, optionally stored."""
    # Imported here: loaded only when this command runs (PySpark is an optional extra).
    import tempfile

    from doudi.scale.assess import assess
    from doudi.scale.session import spark_session

    if partitions is not None and partitions < 8:
        raise ValidationFailed([FieldError(field="--partitions", message="分区数至少为 8")])
    with tempfile.TemporaryDirectory(prefix="doudi-assess-") as tmp:
        snapshot = snapshot or _registry_snapshot(on=on, area=area, directory=Path(tmp))
        target = out or Path(tmp) / "out"
        spark = spark_session(master, app="doudi-assess")
        result = assess(spark, snapshot=snapshot, on=on, out=target, area=_prefix(area), partitions=partitions)
        how = "按户编号有序，各任务自读切片" if result.sliced else "按户编号哈希重分区"
        typer.echo(f"Spark 评估：{result.households} 户，{result.persons} 人，{result.partitions} 个分区（{how}），"
                   f"参数包 {_versions(result.pack_versions)}；结果目录 {target}")
        if result.skipped:
            typer.echo(f"  未评估 {result.skipped} 户（{SKIPPED_WHY}），原因见 {target / 'skipped'}", err=True)
        if store:
            _store_output(on=on, area=area, source="spark", detail=str(out or snapshot), target=target,
                          households=result.households, persons=result.persons, versions=result.pack_versions)


def _assess_chunked(*, on: date, area: str, snapshot: Path | None, out: Path, store: bool, chunk: int | None
                    ) -> None:
    """`doudi assess --out DIR`: the single-node engine chunk by chunk (memory bounded by the chunk, not by the
    registry); Parquet out in the layout the Spark engine writes, optionally stored."""
    # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
    import tempfile

    import polars as pl
    import pyarrow as pa
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from doudi.scale.chunked import CHUNK, assess_chunked

    chunk = chunk or CHUNK

    source = "snapshot" if snapshot is not None else "registry"
    with tempfile.TemporaryDirectory(prefix="doudi-assess-") as tmp:
        snapshot = snapshot or _registry_snapshot(on=on, area=area, directory=Path(tmp))
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      transient=True) as progress:
            progress.add_task(f"分块测算（每块 {chunk} 户）…", total=None)
            try:
                result = assess_chunked(snapshot, on=on, out=out, chunk=chunk, area=_prefix(area))
            except FileNotFoundError as exc:
                raise ValidationFailed([FieldError(field="--snapshot", message=str(exc))]) from None
            except (pl.exceptions.PolarsError, pa.ArrowException, OSError) as exc:
                # A corrupt or mistyped Parquet file: its reader's first line, and the promise that matters.
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise DoudiError(f"读取或测算快照失败，原结果目录未改动：{first}") from exc
    typer.echo(f"分块测算：{result.households} 户，{result.persons} 人，{result.chunks} 块，"
               f"参数包 {_versions(result.pack_versions)}；结果目录 {out}")
    if result.skipped:
        typer.echo(f"  未评估 {result.skipped} 户（{SKIPPED_WHY}），原因见 {out / 'skipped'}", err=True)
    if store:
        _store_output(on=on, area=area, source=source, detail=str(out),
                      target=out, households=result.households, persons=result.persons,
                      versions=result.pack_versions)


def _prefix(area: str) -> str:
    """The code prefix of `--area` (a city's 370700 → 3707; '' stays ''), as the registry path reads it."""
    from doudi.auth.scope import subtree_prefix

    return subtree_prefix(area)


def _in_area(frames: Frames, area: str) -> Frames:
    """A snapshot's households (and their members) in `--area`'s subtree; all of them without one."""
    if not area:
        return frames
    import polars as pl  # imported here: loaded only when a command reads a snapshot

    frames.households = frames.households.filter(pl.col("area_code").str.starts_with(_prefix(area)))
    frames.members = frames.members.join(frames.households.select("household_id"), on="household_id", how="semi")
    return frames


def _versions(packs: dict[str, str]) -> str:
    """Pack versions as a person reads them: 「370784 2025-01」, the national pack by name."""
    return "、".join(f"{'全国' if k == 'national' else k} {v}" for k, v in sorted(packs.items())) or "无"


def _registry_snapshot(*, on: date, area: str, directory: Path) -> Path:
    """The registry exported once as a snapshot (a province passes --snapshot with its warehouse export)."""
    from doudi.db.engine import session_scope
    from doudi.policy.frames import write_snapshot
    from doudi.policy.registry_frames import read_registry

    snapshot = directory / "snapshot"
    with session_scope() as session:
        write_snapshot(read_registry(session.connection(), on=on, area_prefix=area), snapshot)
    return snapshot


def _store_output(*, on: date, area: str, source: str, detail: str, target: Path, households: int, persons: int,
                  versions: dict[str, str]) -> None:
    """Store an assessment's Parquet output as one run of this database."""
    from doudi.auth.permissions import system_actor
    from doudi.db.engine import session_scope
    from doudi.policy.batch import store_assessment
    from doudi.scale.layout import read_output

    if households == 0:
        raise ValidationFailed([FieldError(field="area", message="没有可评估的家庭")])
    with session_scope() as session:
        run = store_assessment(
            session, actor=system_actor(area or "000000", "cli"), on=on, source=source, source_detail=detail,
            area_prefix=area, long=read_output(target, "decisions"), members=read_output(target, "members"),
            skipped=read_output(target, "skipped"), households=households, persons=persons, pack_versions=versions)
        run_id = run.id
    typer.echo(f"已写入评估批次 #{run_id}")


def _print_report(report: Any) -> None:
    # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    names = {k: parameter_label(k) for k in report.provisional}
    flag = f"（⚠ 待确认参数：{'、'.join(names.values())}）" if report.provisional else ""
    skipped = f"（{report.skipped} 户{SKIPPED_WHY}，未纳入）" if report.skipped else ""
    changes = "；".join(f"{parameter_label(k)} 调整为 {v}" for k, v in dict(report.overrides).items())
    console.print(f"政策模拟 {report.on}：{changes}{flag}，{report.households} 户{skipped}")
    headers = {"program": "救助项目", "township": "乡镇（街道）"}
    for title, df, keys in (("按项目", report.by_program, ["program"]),
                            ("按乡镇（街道）", report.by_township, ["township", "program"])):
        table = Table(title=title)
        for col in (*[headers[k] for k in keys], "基线户数", "调整后户数", "户数变化", "人数变化", "月支出变化(元)"):
            table.add_column(col)
        for r in df.iter_rows(named=True):
            shown = [parameter_label(str(r[k])) if k == "program" else str(r[k]) for k in keys]
            table.add_row(*shown, str(r["base_households"]), str(r["reform_households"]),
                          f"{r['delta_households']:+d}", f"{r['delta_persons']:+d}", f"{r['delta_monthly_cost']:+,.2f}")
        console.print(table)
