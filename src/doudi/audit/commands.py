"""`doudi audit verify`."""

from __future__ import annotations

import typer

from doudi.audit import service
from doudi.audit.models import AuditHead
from doudi.db.engine import session_scope


def register(app: typer.Typer) -> None:
    """Add the audit commands to the root app."""
    audit = typer.Typer(help="审计日志", no_args_is_help=True)
    app.add_typer(audit, name="audit")

    @audit.command("verify")
    def verify() -> None:
        """Check the hash chain; exit 1 and name every edited or deleted entry."""
        with session_scope() as session:
            problems = service.verify(session)
            head = session.get(AuditHead, 1)
            if problems:
                typer.echo(f"审计日志校验失败：{len(problems)} 处问题", err=True)
                for p in problems:
                    where = f"entry seq={p.seq}" + (f" id={p.entry_id}" if p.entry_id else "")
                    typer.echo(f"  - {where}: {p.problem}", err=True)
                raise typer.Exit(1)
            n, h = (head.seq, head.hash) if head else (0, service.GENESIS)
            # Printing the head hash lets an operator keep it elsewhere, anchoring the chain externally.
            typer.echo(f"审计日志完好：{n} 条，链尾哈希 {h}")
