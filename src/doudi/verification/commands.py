"""CLI: `doudi feeds …` (sources, ingest, batches, rejects, resolve, relink), `doudi link`, `doudi verify …`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from doudi.auth.permissions import system_actor
from doudi.core import clock
from doudi.core.errors import FieldError, ValidationFailed
from doudi.db.engine import session_scope

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    """Add the feeds and verify groups and the link command."""
    feeds = typer.Typer(help="部门数据：数据源、导入、批次、隔离行与人员匹配", no_args_is_help=True)
    verify = typer.Typer(help="家庭经济状况信息核对：授权、提请、进度与报告", no_args_is_help=True)
    app.add_typer(feeds, name="feeds")
    app.add_typer(verify, name="verify")
    app.command("link", help="比对两份人员名单，输出匹配对及匹配概率")(link)

    @feeds.command("sources", help="列出已声明的数据源及其列")
    def sources() -> None:
        """List the declared data sources and their columns."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.verification.sources import load_sources

        table = Table("key", "数据源", "部门", "类型", "列")
        for s in load_sources().values():
            table.add_row(s.key, s.label, s.agency, s.yields, ", ".join(c.name + ("*" if c.required else "")
                                                                        for c in s.columns))
        Console().print(table)

    @feeds.command("ingest", help="校验并导入一个部门数据文件，作为某区划或全国的一个批次"
                                    "（可重复运行；全部成功或全部不写入）")
    def ingest(
        file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                    help="部门数据文件（CSV、XLSX、JSON 行格式或 Parquet）"),
        source: str = typer.Option(..., "--source", help="数据源代码（可用“列出数据源”命令查看）"),
        area: str = typer.Option("", help="数据所属区划：只与该区划登记的人员匹配（系统中只有一个县时默认为该县）"),
        national: bool = typer.Option(False, "--national", help="声明为全国数据：与任一地区登记的人员匹配"),
        chunk_rows: int = typer.Option(500_000, help="每批处理的行数"),
        link: bool = typer.Option(True, help="导入后对无有效身份证号的行做概率匹配"),
    ) -> None:
        """Validate and load one feed file (idempotent; all or nothing) as a batch of one area, or national."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.verification import flows
        from doudi.verification import ingest as ing

        if not area and not national:
            with session_scope() as session:
                area = ing.default_area(session)
        actor = system_actor(area or "000000", name="cli")
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed:,} 行"),
                      TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task(f"导入 {source}", total=None)
            try:
                with session_scope() as session:
                    out = ing.ingest_file(session, actor=actor, source_key=source, path=file, area_code=area or None,
                                          national=national, chunk_rows=chunk_rows,
                                          progress=lambda n: bar.update(task, completed=n))
                    batch_id, already = out.batch.id, out.already
            except ValidationFailed as exc:
                if any(e.field == "area" for e in exc.errors):
                    raise  # nothing was read: no failed batch to keep
                with session_scope() as session:
                    ing.record_failure(session, actor=actor, source_key=source, path=file, error=str(exc),
                                       area_code=area or None)
                raise
            except (OSError, ValueError, pl.exceptions.PolarsError) as exc:
                with session_scope() as session:
                    ing.record_failure(session, actor=actor, source_key=source, path=file, error=str(exc),
                                       area_code=area or None)
                raise
        if already:
            console.print(f"该文件已导入为批次 {batch_id}，未重复写入。")
            return
        b = out.batch
        scope = "全国数据" if b.national else f"区划 {b.area_code}"
        dup = f"（其中重复行 {b.rows_duplicate:,}，只记录一次）" if b.rows_duplicate else ""
        console.print(f"批次 {batch_id}（{scope}）：共 {b.rows_total:,} 行，接收 {b.rows_ok:,}，"
                      f"隔离 {b.rows_rejected:,}{dup}；"
                      f"按身份证号匹配 {out.matched_by_id:,} 行，待概率匹配 {out.pending_linkage:,} 行；"
                      f"用时 {out.seconds:.1f} 秒（{b.rows_total / max(out.seconds, 1e-9):,.0f} 行/秒）")
        # The batch is committed; linking and re-answering run in a transaction of their own.
        with session_scope() as session:
            r = flows.link_and_answer(session, actor=actor, outcome=out, link=link)
        if r is not None:
            console.print(f"概率匹配：{r.identities:,} 个身份，自动关联 {r.linked_rows:,} 行，"
                          f"待人工复核 {r.review_identities:,} 个，未匹配 {r.unmatched_rows:,} 行")

    @feeds.command("batches", help="列出部门数据批次及其来源和行数")
    def batches(source: str = typer.Option("", help="按数据源筛选")) -> None:
        """List feed batches with their lineage and counts."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.verification import queue

        with session_scope() as session:
            table = Table("批次", "数据源", "文件", "SHA-256", "时间", "总行", "接收", "隔离", "状态")
            for b in queue.list_batches(session, actor=system_actor(), source_key=source):
                table.add_row(str(b.id), b.source_key, b.file_name, b.file_sha256[:12],
                              f"{b.started_at:%Y-%m-%d %H:%M}", f"{b.rows_total:,}",
                              f"{b.rows_ok:,}", f"{b.rows_rejected:,}", b.status)
            Console().print(table)

    @feeds.command("rejects", help="查看某批次被隔离的行：行号、字段和原因")
    def rejects(batch_id: int = typer.Argument(..., help="批次编号"),
                limit: int = typer.Option(50, help="最多显示的行数")) -> None:
        """Show a batch's quarantined rows: row number, field and reason."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.verification import queue

        with session_scope() as session:
            rows, total = queue.rejects(session, actor=system_actor(), batch_id=batch_id, per_page=limit)
            for r in rows:
                typer.echo(f"第 {r.row_number} 行\t{r.field}\t{r.reason}")
            typer.echo(f"共 {total} 行被隔离")

    @feeds.command("resolve", help="对某批次中无有效身份证号的行做概率人员匹配")
    def resolve_cmd(batch_id: int = typer.Argument(..., help="批次编号")) -> None:
        """Run probabilistic person resolution on a batch's rows without a valid ID."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.verification import resolve

        with session_scope() as session:
            r = resolve.resolve_batch(session, actor=system_actor(), batch_id=batch_id)
        typer.echo(f"{r.identities} 个身份；关联 {r.linked_rows} 行；"
                   f"待复核 {r.review_identities}；未匹配 {r.unmatched_rows} 行")

    @feeds.command("relink", help="把已存的部门数据行关联到数据到达后才登记的人员（可重复运行；留痕）")
    def relink_cmd(
        source: str = typer.Option("", "--source", help="只处理该数据源（默认全部）"),
        probabilistic: bool = typer.Option(True, help="对无有效身份证号且未匹配的行重新做概率匹配"),
    ) -> None:
        """Link stored feed rows to persons registered since the feed arrived (idempotent; audited)."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.verification import relink, service
        from doudi.verification.ingest import get_source

        if source:
            get_source(source)  # an unknown key is a clear error, not an empty run
        actor = system_actor(name="cli")
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed} 批"),
                      TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task(f"重新匹配 {source or '全部数据源'}", total=None)
            with session_scope() as session:
                out = relink.relink(session, actor=actor, source_key=source, probabilistic=probabilistic,
                                    progress=lambda _b: bar.advance(task))
                service.refresh_open_requests(session, actor=actor)
        console.print(f"{out.batches} 个批次：按身份证号新关联 {out.id_rows:,} 行，概率匹配新关联 "
                      f"{out.probabilistic_rows:,} 行，新增待人工复核 {out.review_identities:,} 个")

    @verify.command("authorise", help="登记家庭成员签署的授权书")
    def authorise(household_id: int = typer.Argument(..., help="家庭编号"),
                  person_id: int = typer.Argument(..., help="人员编号"),
                  signed_by: str = typer.Option(..., help="签署人姓名"),
                  document_ref: str = typer.Option(..., help="授权书编号或存档位置"),
                  signed_on: str = typer.Option("", help="签署日期 YYYY-MM-DD（默认今天）"),
                  relation: str = typer.Option("self", help="签署人与被授权成员的关系代码（默认本人）"),
                  scope: str = typer.Option("all", help="授权范围代码，逗号分隔（默认全部）")) -> None:
        """Record a member's signed authorisation (授权书)."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.verification import service

        with session_scope() as session:
            a = service.record_authorisation(
                session, actor=system_actor(), household_id=household_id, person_id=person_id,
                signed_by_name=signed_by, signed_on=date.fromisoformat(signed_on) if signed_on else clock.today(),
                document_ref=document_ref, scope=scope.split(","), signed_by_relation=relation)
            typer.echo(f"授权书已登记：{a.id}")

    @verify.command("request", help="为一户家庭提请核对，并用现有部门数据答复")
    def request(household_id: int = typer.Argument(..., help="家庭编号"),
                requested_on: str = typer.Option("", help="提请日期 YYYY-MM-DD（默认今天）"),
                purpose: str = typer.Option("application", help="核对用途代码（默认申请审核）")) -> None:
        """Open a verification request for a household and answer it from the feeds on hand."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.verification import service

        with session_scope() as session:
            req = service.create_request(session, actor=system_actor(), household_id=household_id, purpose=purpose,
                                         requested_on=date.fromisoformat(requested_on) if requested_on else None)
            typer.echo(f"核对提请 {req.id}：应于 {req.due_on} 前启动；{req.calendar_note}")
        status(req.id)

    @verify.command("status", help="逐个数据源查看一次核对提请的进度")
    def status(request_id: int = typer.Argument(..., help="核对提请编号")) -> None:
        """Tracking of one request, source by source."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.verification import service

        with session_scope() as session:
            req, tracks = service.tracking(session, actor=system_actor(), request_id=request_id)
            table = Table("数据源", "部门", "状态", "记录", "说明", title=f"核对提请 {req.id}（{req.status}）")
            for t in tracks:
                table.add_row(t.label, t.agency, t.status_label, str(t.records), t.message)
            Console().print(table)

    @verify.command("report", help="输出核对结论；可将核对报告另存为 PDF 或 Excel")
    def report(request_id: int = typer.Argument(..., help="核对提请编号"),
               pdf: Path = typer.Option(None, help="另存为 PDF 文件"),
               xlsx: Path = typer.Option(None, help="另存为 Excel 文件")) -> None:
        """Print the conclusion; write the 核对报告 as PDF and/or Excel."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.verification import reporting

        with session_scope() as session:
            hr = reporting.build_report(session, actor=system_actor(), request_id=request_id)
            typer.echo(hr.conclusion)
            if pdf:
                pdf.write_bytes(reporting.report_pdf(session, actor=system_actor(), request_id=request_id))
            if xlsx:
                xlsx.write_bytes(reporting.report_xlsx(session, actor=system_actor(), request_id=request_id))


def link(
    left: Path = typer.Argument(..., exists=True, dir_okay=False, help="左侧人员名单（CSV）"),
    right: Path = typer.Argument(..., exists=True, dir_okay=False, help="右侧人员名单（CSV）"),
    out: Path = typer.Option(..., "--out", help="输出 CSV 文件：左侧编号、右侧编号、匹配概率"),
    review: Path = typer.Option(None, help="另存待人工复核的候选对（含身份证号比对类别与各字段证据）"),
    train: bool = typer.Option(None, "--train/--no-train", help="在输入上估计模型参数（默认：数据足够大时）"),
    one_to_one: bool = typer.Option(False, "--one-to-one",
                                    help="两份名单各自已去重（如登记库对人员名单）：按一对一指派求解；"
                                         "默认多对一（一人可有多行）"),
    model: Path = typer.Option(None, "--model", help="模型文件：存在则直接使用（不再训练），否则训练后写入"),
) -> None:
    """Link two person lists (record_id, name, id_number, birth_date, sex, address)."""
    # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
    import json

    from doudi.verification.linkage.engine import link_frames
    from doudi.verification.linkage.prepare import PERSON_COLUMNS

    frames = []
    for path in (left, right):
        frame = pl.read_csv(path, infer_schema=False)
        missing = [c for c in PERSON_COLUMNS if c not in frame.columns]
        if missing:
            raise ValidationFailed([FieldError(f"{path.name}:{c}", "缺少列") for c in missing])
        dup = frame["record_id"].is_duplicated()
        if dup.any():
            first = int(dup.arg_max() or 0) + 1
            raise ValidationFailed([FieldError(f"{path.name}:record_id", "record_id 重复", row=first)])
        frames.append(frame)
    stored = None
    if model is not None and model.exists():
        try:
            stored = json.loads(model.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise ValidationFailed([FieldError("model", f"模型文件 {model.name} 无法读取")]) from None
        if not isinstance(stored, dict):
            raise ValidationFailed([FieldError("model", f"模型文件 {model.name} 格式不对")])
    with console.status("比对中…"):
        result = link_frames(frames[0], frames[1], train=train, model=stored,
                             assignment="one_to_one" if one_to_one else "best_per_left")
    result.accepted.select("left_id", "right_id", pl.col("match_probability").round(6)).write_csv(out)
    if review:
        pl.concat([result.review.with_columns(pl.lit("match").alias("kind")),
                   result.double.with_columns(pl.lit("double_registration").alias("kind"))]) \
            .select("left_id", "right_id", pl.col("match_probability").round(6), "kind", "id_kind", "evidence") \
            .write_csv(review)
    if model is not None and result.trained:
        model.write_text(json.dumps(result.model, ensure_ascii=False), encoding="utf-8")
    how = "在输入上训练" if result.trained else ("使用已存模型" if stored else "使用默认参数")
    console.print(f"左 {frames[0].height:,} 条，右 {frames[1].height:,} 条；候选比较 {result.candidates:,} 对；"
                  f"接受 {result.accepted.height:,} 对，待复核 {result.review.height:,} 对，"
                  f"疑似重复登记 {result.double.height:,} 对；{how}；用时 {sum(result.timings.values()):.1f} 秒")
