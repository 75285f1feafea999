"""`doudi db upgrade`, `doudi serve` and `doudi backup`."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import typer

from doudi.config import get_settings
from doudi.db.engine import get_engine


def register(app: typer.Typer) -> None:
    """Add the system commands to the root app."""
    db = typer.Typer(help="数据库迁移", no_args_is_help=True)
    app.add_typer(db, name="db")

    @db.command("upgrade")
    def db_upgrade(revision: str = "head") -> None:
        """Bring the configured database schema up to date."""
        from doudi.db.bootstrap import init_database
        from doudi.db.migrate import current, upgrade

        engine = get_engine()
        if revision == "head":
            init_database(engine)
        else:
            upgrade(engine, revision)
        typer.echo(f"数据库已迁移到 {current(engine)} ({engine.url.render_as_string(hide_password=True)})")

    @app.command("serve")
    def serve(host: str = "", port: int = 0) -> None:
        """Serve the console and API on the configured database."""
        import uvicorn

        from doudi.main import create_app

        settings = get_settings()
        uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port, log_level="info")

    @app.command("backup")
    def backup(out: Path = typer.Option(None, help="备份文件路径（默认 data_dir/backups/）")) -> None:
        """Back up the configured database (SQLite online backup, or pg_dump for PostgreSQL)."""
        settings = get_settings()
        engine = get_engine()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target_dir = settings.data_dir / "backups"
        target_dir.mkdir(parents=True, exist_ok=True)
        if engine.dialect.name == "sqlite":
            import sqlite3

            target = out or target_dir / f"doudi-{stamp}.db"
            src = sqlite3.connect(str(engine.url.database))
            dst = sqlite3.connect(str(target))
            with dst:
                src.backup(dst)  # consistent even while the server writes
            src.close()
            dst.close()
        else:
            if shutil.which("pg_dump") is None:
                raise typer.BadParameter("未找到 pg_dump，请安装 PostgreSQL 客户端")
            target = out or target_dir / f"doudi-{stamp}.dump"
            url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            subprocess.run(["pg_dump", "--format=custom", f"--file={target}", url], check=True)
        typer.echo(f"已备份到 {target}")
