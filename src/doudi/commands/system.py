"""`doudi db upgrade`, `doudi serve`, `doudi backup` and `doudi restore`."""

from __future__ import annotations

from pathlib import Path

import typer

from doudi.config import get_settings
from doudi.db.engine import get_engine


def register(app: typer.Typer) -> None:
    """Add the system commands to the root app."""
    db = typer.Typer(help="数据库迁移", no_args_is_help=True)
    app.add_typer(db, name="db")

    @db.command("upgrade", help="把所配置数据库的结构迁移到最新版本")
    def db_upgrade(revision: str = typer.Option("head", help="目标版本（默认最新）")) -> None:
        """Bring the configured database schema up to date."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.bootstrap import init_database
        from doudi.db.migrate import current, upgrade

        engine = get_engine()
        if revision == "head":
            init_database(engine)
            # Imported here: loaded only when this command runs.
            from doudi.audit.service import seal
            from doudi.db.engine import session_scope

            with session_scope(engine) as session:
                seal(session)  # entries written before the chain had a key are sealed once, unchanged
        else:
            upgrade(engine, revision)
        typer.echo(f"数据库已迁移到 {current(engine)} ({engine.url.render_as_string(hide_password=True)})")

    @app.command("serve", help="在所配置的数据库上启动控制台与 API 服务")
    def serve(host: str = typer.Option("", help="监听地址（默认取配置）"),
              port: int = typer.Option(0, help="监听端口（默认取配置）")) -> None:
        """Serve the console and API on the configured database."""
        # Imported here: the web server stack is loaded only by the command that serves.
        import uvicorn

        # Imported here: the web server stack is loaded only by the command that serves.
        from doudi.main import create_app

        settings = get_settings()
        uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port, log_config=None)

    @app.command("backup", help="备份所配置的数据库与文件库（数据库在线备份，不必停止服务）")
    def backup(out: Path = typer.Option(None, help="备份文件路径（默认存放在数据目录下的备份子目录）")) -> None:
        """Back up the configured database (SQLite online backup, or pg_dump for PostgreSQL)."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.admin.backup import make_backup

        target = make_backup(get_engine(), data_dir=get_settings().data_dir, out=out)
        typer.echo(f"已备份到 {target}（数据库与文件库，仅所有者可读）")

    @app.command("restore", help="恢复备份：校验备份文件，替换数据库与文件库，再校验审计链")
    def restore(archive: Path = typer.Argument(..., help="备份命令生成的备份归档文件"),
                yes: bool = typer.Option(False, "--yes", help="确认覆盖当前数据库与文件库")) -> None:
        """Restore a backup: verify the archive, replace the database and files, then verify the audit chain."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.admin.backup import restore_backup

        if not yes:
            typer.echo("恢复将覆盖当前数据库与文件库。请先停止服务，确认后加 --yes 重新运行。", err=True)
            raise typer.Exit(2)
        report = restore_backup(get_engine(), archive=archive, data_dir=get_settings().data_dir)
        typer.echo(f"已恢复：数据库版本 {report.revision}，文件 {report.files} 个")
        if report.audit_problems:
            typer.echo(f"审计链校验发现 {len(report.audit_problems)} 处问题：", err=True)
            for line in report.audit_problems[:20]:
                typer.echo(f"  - {line}", err=True)
            raise typer.Exit(1)
        typer.echo("审计链校验通过")
