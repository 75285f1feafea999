"""`doudi charity fund`: donations, grants and their approval, balances, the transparency report, insurance."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth import service as auth
from doudi.auth.models import User
from doudi.auth.permissions import Actor
from doudi.core import clock
from doudi.core.errors import NotFound
from doudi.db.engine import session_scope


def actor_for(session: Session, username: str) -> Actor:
    """The named user as an actor (every CLI change is made as a person, for maker-checker and the audit)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户 {username}")
    return auth.actor_for(user)


def charity_group(app: typer.Typer) -> typer.Typer:
    """The `charity` command group, created once whichever charity module registers first."""
    for group in app.registered_groups:
        if group.name == "charity" and group.typer_instance is not None:
            return group.typer_instance
    charity = typer.Typer(help="社会力量：慈善救助基金、社工帮扶、签约帮扶", no_args_is_help=True)
    app.add_typer(charity, name="charity")
    return charity


def register(app: typer.Typer) -> None:
    """Add `charity fund …`."""
    fund = typer.Typer(help="慈善救助基金：捐赠、拨付、审批、余额、信息公开、补充保险", no_args_is_help=True)
    charity_group(app).add_typer(fund, name="fund")

    @fund.command("donate", help="登记一笔捐赠")
    def donate(area: str = typer.Option(..., "--area", help="县级区划代码"),
               receipt: str = typer.Option(..., "--receipt", help="捐赠票据号"),
               donor: str = typer.Option(..., "--donor", help="捐赠人"),
               amount: str = typer.Option(..., "--amount", help="金额（元）"),
               purpose: str = typer.Option("general", "--purpose", help="用途"),
               restricted: bool = typer.Option(False, "--restricted", help="定向捐赠"),
               kind: str = typer.Option("person", "--kind", help="捐赠人类型：个人、企业或匿名",
                                 metavar="person|company|anonymous"),
               received: str = typer.Option("", "--received", help="到账日期 YYYY-MM-DD（默认今天）"),
               user: str = typer.Option(..., "--as", help="登记人用户名")) -> None:
        """Record a donation."""
        from doudi.charity.fund import forms, service
        from doudi.charity.fund.labels import yuan

        on = forms.day(received, "received_on", "到账日期") if received else clock.today()
        with session_scope() as session:
            d = service.record_donation(session, actor=actor_for(session, user), area_code=area, receipt_no=receipt,
                                        donor_name=donor, amount_fen=forms.fen(amount, "amount", "金额"),
                                        purpose=purpose, restricted=restricted, received_on=on, today=clock.today(),
                                        donor_kind=kind)
            typer.echo(f"捐赠 {d.id} 已入账：票据 {d.receipt_no}，{yuan(d.amount_fen)} 元")

    @fund.command("grant", help="提出一笔拨付，待复核")
    def grant(amount: str = typer.Option(..., "--amount", help="金额（元）"),
              purpose: str = typer.Option(..., "--purpose", help="用途"),
              pool: str = typer.Option("", "--pool", help="资金来源（默认同用途的定向资金）"),
              reason: str = typer.Option(..., "--reason", help="理由"),
              household: int = typer.Option(None, "--household", help="家庭编号"),
              case: int = typer.Option(None, "--case", help="案件编号"),
              need: int = typer.Option(None, "--need", help="需求编号"),
              user: str = typer.Option(..., "--as", help="经办人用户名")) -> None:
        """Propose a grant for approval."""
        from doudi.charity.fund import forms, service

        with session_scope() as session:
            g = service.make_grant(session, actor=actor_for(session, user),
                                   amount_fen=forms.fen(amount, "amount", "金额"),
                                   purpose=purpose, pool=pool or purpose, reason=reason, household_id=household,
                                   case_id=case, need_id=need)
            typer.echo(f"拨付 {g.id} 已提交，待另一人审批（版本 {g.version}）")

    @fund.command("approve", help="复核（批准或退回）一笔拨付")
    def approve(grant_id: int = typer.Argument(..., help="拨付编号"),
                user: str = typer.Option(..., "--as", help="审批人用户名（不能是经办人）"),
                reject: bool = typer.Option(False, "--reject", help="不予批准"),
                note: str = typer.Option("", "--note", help="审批意见"),
                version: int = typer.Option(None, "--version", help="审批时看到的版本号")) -> None:
        """Approve (or reject) a grant."""
        from doudi.charity.fund import service
        from doudi.charity.fund.labels import GRANT_LABELS

        with session_scope() as session:
            g = service.decide_grant(session, actor=actor_for(session, user), grant_id=grant_id, version=version,
                                     approve=not reject, today=clock.today(), note=note)
            typer.echo(f"拨付 {g.id}：{GRANT_LABELS.get(g.status, g.status)}")

    @fund.command("balance", help="各资金池余额")
    def balance(area: str = typer.Option(..., "--area", help="县级区划代码"),
                user: str = typer.Option(..., "--as", help="查询人用户名")) -> None:
        """Each pool's balance."""
        from doudi.charity.fund import service
        from doudi.charity.fund.labels import PURPOSE_LABELS, yuan

        table = Table("资金用途", "余额(元)")
        with session_scope() as session:
            for pool, fen in service.balances(session, actor=actor_for(session, user), county=area).items():
                table.add_row(PURPOSE_LABELS.get(pool, pool), yuan(fen))
            problems = service.ledger_problems(session, county=area)
        Console().print(table)
        if problems:
            typer.echo(f"台账不平：{'、'.join(problems)}", err=True)
            raise typer.Exit(1)

    @fund.command("report", help="慈善信息公开报告（不含个人信息）")
    def report_cmd(area: str = typer.Option(..., "--area", help="县级区划代码"),
                   year: int = typer.Option(0, "--year", help="年度（默认今年）"),
                   out: Path = typer.Option(None, "--out", help="写出 Excel 文件")) -> None:
        """The public transparency report (no personal data)."""
        from doudi.charity.fund import report

        with session_scope() as session:
            r = report.transparency(session, county=area, year=year or clock.today().year)
        for line in report.lines(r):
            typer.echo(line)
        if out is not None:
            out.write_bytes(report.to_xlsx(r))
            typer.echo(f"已写出 {out}")

    @fund.command("policy", help="建立团体保单并列入符合条件的救助对象")
    def policy(area: str = typer.Option(..., "--area", help="县级区划代码"),
               policy_no: str = typer.Option(..., "--no", help="保单号"),
               insurer: str = typer.Option(..., "--insurer", help="承保机构"),
               start: str = typer.Option(..., "--start", help="起期 YYYY-MM-DD"),
               end: str = typer.Option(..., "--end", help="止期 YYYY-MM-DD"),
               user: str = typer.Option(..., "--as", help="经办人用户名")) -> None:
        """Create a group policy and list the eligible recipients on it."""
        from doudi.charity.fund import forms, insurance

        with session_scope() as session:
            actor = actor_for(session, user)
            p = insurance.create_policy(session, actor=actor, county=area, policy_no=policy_no, insurer=insurer,
                                        start_on=forms.day(start, "start_on", "保险起期"),
                                        end_on=forms.day(end, "end_on", "保险止期"))
            n = insurance.enrol(session, actor=actor, policy_id=p.id, version=p.version, on=clock.today())
            typer.echo(f"保单 {p.policy_no}（编号 {p.id}）：参保 {n} 人")

    @fund.command("insurer-file", help="生成报送承保机构的参保人员文件（含完整身份证号，留痕）")
    def insurer_file(policy_id: int = typer.Argument(..., help="保单编号"),
                     out: Path = typer.Option(..., "--out", help="输出文件"),
                     user: str = typer.Option(..., "--as", help="经办人用户名")) -> None:
        """Write the insurer's member file (full ID numbers; audited)."""
        from doudi.charity.fund import insurance

        with session_scope() as session:
            out.write_bytes(insurance.insurer_file(session, actor=actor_for(session, user), policy_id=policy_id))
        typer.echo(f"已写出 {out}")
