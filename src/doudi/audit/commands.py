"""`doudi audit verify` and `doudi audit checkpoint`."""

from __future__ import annotations

import typer

from doudi.audit import service
from doudi.config import get_settings
from doudi.core.errors import Conflict
from doudi.db.engine import session_scope


def register(app: typer.Typer) -> None:
    """Add the audit commands to the root app."""
    audit = typer.Typer(help="审计日志", no_args_is_help=True)
    app.add_typer(audit, name="audit")

    @audit.command("verify", help="封存尚未封存的条目，再校验整个审计日志（启用密钥前的 SHA-256 链、密钥签名链、"
                                   "逐条签名并分批封存的条目）及文件库中的签名检查点；发现被修改、删除或挪动的条目时"
                                   "逐条列出并以状态 1 退出，校验通过则把检查点更新到当前链尾")
    def verify() -> None:
        """Seal what is unsealed, then check every segment and the signed checkpoint in the file store; exit 1 and
        name every edited, deleted or moved entry; on success, move the checkpoint to the current head."""
        files = get_settings().data_dir / "files"
        with session_scope() as session:
            service.seal(session)
            report = service.verify_report(session, checkpoint_dir=files)
            if report.problems:
                typer.echo(f"审计日志校验失败：{len(report.problems)} 处问题", err=True)
                for p in report.problems:
                    where = f"第 {p.seq} 条" + (f"（id={p.entry_id}）" if p.entry_id else "")
                    typer.echo(f"  - {where}：{p.problem}", err=True)
                raise typer.Exit(1)
            service.write_checkpoint(session, directory=files)
        for line in service.describe(report):
            typer.echo(line)
        if report.checkpoint_seq is not None:
            linked = f"链接链第 {report.checkpoint_seq} 条，" if report.checkpoint_seq else ""
            typer.echo(f"  文件库中的链尾检查点（{linked}第 {report.checkpoint_seal} 批封存）一致；已更新到当前链尾")

    @audit.command("checkpoint", help="必要时封存旧条目，并在文件库中保存已签名的链尾检查点")
    def checkpoint() -> None:
        """Seal the old entries if needed and keep a signed checkpoint of the head in the file store."""
        files = get_settings().data_dir / "files"
        with session_scope() as session:
            done = service.seal(session)
            try:
                data = service.write_checkpoint(session, directory=files)
            except Conflict as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(1) from None
        typer.echo(f"本次封存 {done.entries} 条（{done.batches} 批）；"
                   f"已保存审计链尾检查点：第 {data['seal_id']} 批封存")

