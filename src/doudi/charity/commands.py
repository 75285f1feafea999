"""CLI: `doudi charity partners|match|needs|escalate`, acting as the system user."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from doudi.auth.permissions import system_actor
from doudi.charity import partners as _registered  # noqa: F401  (registers the partner check for accounts)
from doudi.charity.labels import NEED_STATUS
from doudi.core import clock
from doudi.db.engine import session_scope


def _date(value: str | None) -> date:
    try:
        return date.fromisoformat(value) if value else clock.today()
    except ValueError:
        raise typer.BadParameter(f"日期格式应为 YYYY-MM-DD：{value!r}") from None


def register(app: typer.Typer) -> None:
    """Add the `charity` group."""
    charity = typer.Typer(help="慈善衔接：合作机构、需求匹配与督办", no_args_is_help=True)
    app.add_typer(charity, name="charity")

    @charity.command("partners", help="列出合作机构：代码、名称、类型、服务区域、可提供的帮扶及容量")
    def partners_cmd(area: str = typer.Option("", "--area", help="只列该区划的合作机构")) -> None:
        """List the partner register: key, name, kind, service area, offers and capacity."""
        from doudi.auth.scope import in_subtree
        from doudi.charity import partners
        from doudi.charity.labels import OFFER, PARTNER_KIND

        with session_scope() as session:
            rows = [p for p in partners.list_partners(session, actor=system_actor(area_code=area or "000000",
                                                                                  name="cli"))
                    if in_subtree(p.area_code, area)]
            for p in rows:
                offers = "、".join(f"{OFFER.get(k, k)}{(p.capacity or {}).get(k, 0)}" for k in p.offers)
                typer.echo(f"{p.key}\t{p.name}\t{PARTNER_KIND.get(p.kind, p.kind)}\t{p.area_code}\t{offers}")
            typer.echo(f"共 {len(rows)} 家合作机构")

    @charity.command("match", help="为所有待匹配的需求推荐合作机构（推荐时即占用容量）")
    def match_cmd(area: str = typer.Option("", "--area", help="只匹配该区划的需求（默认全部）"),
                  day: str = typer.Option(None, "--date", help="匹配日期（默认今天）")) -> None:
        """Propose partners for every need waiting for one (capacity taken as proposals are made)."""
        from doudi.charity import service

        with session_scope() as session:
            n = service.propose(session, actor=system_actor(name="cli"), today=_date(day), area=area)
        typer.echo(f"已为 {n} 条需求推荐合作机构")

    @charity.command("needs", help="把救助需求台账导出为 Excel（联系方式已脱敏）")
    def needs_cmd(out: Path = typer.Option(..., "--out", help="输出 Excel 文件（.xlsx）"),
                  status: str = typer.Option("", "--status", help="只导出该状态的需求（另可选全部未满足的需求）",
                                              metavar="|".join([*NEED_STATUS, "unmet"])),
                  day: str = typer.Option(None, "--date", help="逾期判断日期（默认今天）")) -> None:
        """Write the needs ledger to Excel (contacts masked)."""
        from doudi.charity import export, service
        from doudi.core import excel

        with session_scope() as session:
            sheet = export.need_sheet(session, actor=system_actor(name="cli"),
                                      filters=service.Filters(status=status), today=_date(day))
            rows = excel.write(out, sheet)
        typer.echo(f"已导出 {rows} 条需求到 {out}")

    @charity.command("escalate", help="使未答复的推荐过期，并督办逾期需求（每日任务中也会运行）")
    def escalate_cmd(day: str = typer.Option(None, "--date", help="督办日期（默认今天）")) -> None:
        """Expire unanswered proposals and escalate overdue needs (also part of `doudi daily`)."""
        from doudi.charity import jobs

        with session_scope() as session:
            typer.echo(jobs.daily(session, today=_date(day)))
