"""`doudi payments` (also `doudi pay`): rolls, approval, bank files, reconciliation, CPI and price subsidies."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth import service as auth
from doudi.auth.models import User
from doudi.auth.permissions import Actor, system_actor
from doudi.core import clock
from doudi.core.errors import FieldError, NotFound, ValidationFailed
from doudi.db.engine import session_scope


def _actor_for(session: object, username: str) -> Actor:
    assert isinstance(session, Session)
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户 {username}")
    return auth.actor_for(user)


def register(app: typer.Typer) -> None:
    """Add the payment commands to the root app, as `payments` and its short form `pay`."""
    pay = typer.Typer(help="资金发放：花名册、审核、银行文件、对账、价格临时补贴", no_args_is_help=True)
    app.add_typer(pay, name="payments")
    app.add_typer(pay, name="pay", hidden=True)
    cpi = typer.Typer(help="价格指数导入", no_args_is_help=True)
    pay.add_typer(cpi, name="cpi")

    @pay.command("roll", help="按项目生成（冻结）某县当月的发放花名册")
    def roll(month: str = typer.Option(..., "--month", help="发放月份 YYYY-MM"),
             program: str = typer.Option("", "--program", help="项目（默认全部按月发放项目）"),
             area: str = typer.Option(..., "--area", help="县级区划代码（6 位）")) -> None:
        """Generate (freeze) the month's roll of a county, per program."""
        from doudi.payments import service
        from doudi.policy.params import load_pack

        m = service.parse_month(month)
        programs = [program] if program else list(load_pack(area).value("payments.paid_programs", on=m) or [])
        table = Table("花名册", "项目", "笔数", "金额(元)", "状态")
        with session_scope() as session, Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("生成花名册", total=len(programs))
            for p in programs:
                r = service.generate_roll(session, actor=system_actor(name="cli"), county=area, month=m, program=p)
                table.add_row(str(r.id), p, str(r.line_count), service.yuan(r.total_fen),
                              service.STATUS_LABELS.get(r.status, r.status))
                progress.advance(task)
        Console().print(table)

    @pay.command("approve", help="以指定审核人身份审核花名册草稿")
    def approve(roll_id: int = typer.Argument(..., help="花名册编号"),
                user: str = typer.Option(..., "--as", help="审核人用户名（不能是制单人）"),
                version: int = typer.Option(None, "--version", help="审核时看到的版本号")) -> None:
        """Approve a draft roll as a named checker."""
        from doudi.payments import service

        with session_scope() as session:
            r = service.approve_roll(session, actor=_actor_for(session, user), roll_id=roll_id, version=version)
            typer.echo(f"花名册 {r.id} 已审核（{r.line_count} 笔，{service.yuan(r.total_fen)} 元）")

    @pay.command("bank-file", help="生成已审核花名册的银行文件（并标记为已报送）")
    def bank_file(roll_id: int = typer.Argument(..., help="花名册编号"),
                  fmt: str = typer.Option("pain001", "--format", help="银行文件格式：pain001（ISO 20022）或国内格式",
                                          metavar="pain001|domestic"),
                  out: Path = typer.Option(Path("."), "--out", help="输出目录"),
                  file_type: str = typer.Option(None, "--file", metavar="csv|xlsx",
                                                help="国内格式的文件类型（默认按本县参数包的代发格式）")) -> None:
        """Write the bank files of an approved roll (marks it sent)."""
        from doudi.payments import bank

        out.mkdir(parents=True, exist_ok=True)
        with session_scope() as session:
            files = bank.export_roll(session, actor=system_actor(name="cli"), roll_id=roll_id, fmt=fmt,
                                     file_type=file_type)
            for f in files:
                (out / f.name).write_bytes(f.data)
                typer.echo(f"{out / f.name}：{f.tx_count} 笔，{f.total_fen / 100:.2f} 元")

    pay.command("export", help="生成已审核花名册的银行文件（别名，用法相同）")(bank_file)

    @pay.command("reconcile", help="导入银行回盘文件，逐行核对分类")
    def reconcile_cmd(file: Path = typer.Argument(..., help="银行回盘文件（pain.002、camt.053 或 CSV）")) -> None:
        """Import a bank return and classify every row."""
        from doudi.payments import reconcile

        if not file.is_file():
            raise ValidationFailed([FieldError("file", f"文件不存在：{file}")])
        with session_scope() as session:
            r = reconcile.reconcile(session, actor=system_actor(name="cli"), filename=file.name,
                                    data=file.read_bytes())
            typer.echo(f"{file.name}：{r.rows} 行；到账 {r.paid}，失败 {r.failed}，未匹配 {r.unmatched}，"
                       f"重复 {r.duplicate}，格式错误 {r.invalid}")

    @cpi.command("import", help="导入月度价格指数（同比，%）")
    def cpi_import(file: Path = typer.Argument(..., help="价格指数 CSV 文件，五列：地区、月份、发布日期、"
                                                          "居民消费价格同比、食品价格同比")) -> None:
        """Import monthly price indices (year-on-year %)."""
        from doudi.payments import subsidy

        with session_scope() as session:
            n, errors = subsidy.import_cpi(session, actor=system_actor(name="cli"), data=file.read_bytes())
        for e in errors:
            typer.echo(f"  - {e}", err=True)
        typer.echo(f"已导入 {n} 条价格指数" + (f"，{len(errors)} 行有误未导入" if errors else ""))
        if errors:
            raise typer.Exit(2)

    @pay.command("subsidy", help="价格联动机制启动时，生成当月的价格临时补贴花名册")
    def subsidy_cmd(month: str = typer.Option(..., "--month", help="补贴发放月份 YYYY-MM（价格指数发布月）"),
                    area: str = typer.Option(..., "--area", help="县级区划代码（6 位）")) -> None:
        """Generate the price-subsidy roll of a month when the linkage mechanism is triggered."""
        from doudi.payments import service, subsidy

        with session_scope() as session:
            r, why = subsidy.generate_subsidy_roll(session, actor=system_actor(name="cli"), county=area,
                                                   month=service.parse_month(month), today=clock.today())
            typer.echo(why if r is None else f"价格临时补贴花名册 {r.id}：{r.line_count} 笔，"
                                             f"{service.yuan(r.total_fen)} 元（{why}）")
