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

    @audit.command("verify", help="校验审计链（封存前为 SHA-256 哈希链，封存后为密钥签名链）及文件库中的签名检查点；"
                                   "发现被修改或删除的条目时逐条列出并以状态 1 退出，校验通过则把检查点更新到当前链尾")
    def verify() -> None:
        """Check the chain (SHA-256 before the seal, HMAC after it) and the signed checkpoint in the file store;
        exit 1 and name every edited or deleted entry; on success, move the checkpoint to the current head."""
        files = get_settings().data_dir / "files"
        with session_scope() as session:
            report = service.verify_report(session, checkpoint_dir=files)
            if report.problems:
                typer.echo(f"审计日志校验失败：{len(report.problems)} 处问题", err=True)
                for p in report.problems:
                    where = f"第 {p.seq} 条" + (f"（id={p.entry_id}）" if p.entry_id else "")
                    typer.echo(f"  - {where}：{p.problem}", err=True)
                raise typer.Exit(1)
            service.write_checkpoint(session, directory=files)
        sealed = report.sealed_seq
        typer.echo(f"审计日志完好：{report.entries} 条，链尾哈希 {report.head_hash}")
        if sealed is None:
            typer.echo("  全部条目为未签名的 SHA-256 链（尚未封存：下一次写入审计日志时封存）")
        else:
            typer.echo(f"  第 1–{sealed} 条：启用密钥前的 SHA-256 链，由已签名的封存检查点确认" if sealed
                       else "  没有启用密钥前的条目")
            typer.echo(f"  第 {sealed + 1}–{report.head_seq} 条：HMAC-SHA256 签名链（审计密钥）")
        if report.checkpoint_seq is not None:
            typer.echo(f"  文件库中的链尾检查点（第 {report.checkpoint_seq} 条）一致；已更新到第 {report.head_seq} 条")

    @audit.command("checkpoint", help="必要时封存旧条目，并在文件库中保存已签名的链尾检查点")
    def checkpoint() -> None:
        """Seal the old entries if needed and keep a signed checkpoint of the head in the file store."""
        files = get_settings().data_dir / "files"
        with session_scope() as session:
            service.seal(session)
            try:
                data = service.write_checkpoint(session, directory=files)
            except Conflict as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(1) from None
        typer.echo(f"已保存审计链尾检查点：第 {data['seq']} 条")
