"""`doudi synth` (a synthetic county on disk) and `doudi demo` (a ready-to-use demo installation)."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from doudi.synth.generate import SynthConfig, generate
from doudi.synth.params import REGIONS

_LOADED = time.perf_counter()  # the CLI has just started: demo start-up time counts from here


def register(app: typer.Typer) -> None:
    """Add `doudi synth` and `doudi demo` to the root app."""

    @app.command("synth", help="生成一个模拟县：家庭档案、申报事实、带噪声的部门数据及真实情况")
    def synth(
        region: str = typer.Option("370784", help=f"县级或地级区划代码：{' / '.join(REGIONS)}"),
        households: int = typer.Option(3000, min=1, help="户数"),
        seed: int = typer.Option(20201201, help="随机种子（相同种子生成逐字节相同的文件）"),
        out: Path = typer.Option(Path("var/synth"), help="输出目录"),
        as_of: str = typer.Option("", help="快照日期 YYYY-MM-DD（默认取模拟参数文件中的日期）"),
        feeds: bool = typer.Option(True, help="是否生成部门数据"),
    ) -> None:
        """Generate a synthetic county: registry file, declared facts, agency feeds with noise, ground truth."""
        if region not in REGIONS:
            raise typer.BadParameter(f"不支持的区划 {region}；可选 {', '.join(REGIONS)}", param_hint="--region")
        cfg = SynthConfig(
            region=region,
            households=households,
            seed=seed,
            as_of=date.fromisoformat(as_of) if as_of else None,
            feeds=feeds,
        )
        console = Console()
        manifest = generate(cfg, out, console=console)
        table = Table("文件", "行数", title=f"{out}（{manifest['seconds']} 秒）")
        for name, count in manifest["counts"].items():
            table.add_row(name, f"{count:,}")
        console.print(table)
        console.print(
            f"{manifest['households']:,} 户、{manifest['persons']:,} 人；种子 {seed}；用时 {manifest['seconds']} 秒"
        )

    @app.command("demo", help="在所配置的数据库上准备演示环境（可重复运行）并启动控制台")
    def demo(
        households: int = typer.Option(3000, min=10, help="首次运行时合成的户数"),
        seed: int = typer.Option(20201201, help="随机种子"),
        serve: bool = typer.Option(True, help="准备完成后启动控制台（否则仅准备数据）"),
    ) -> None:
        """Prepare a demo installation on the configured database (idempotent) and serve the console."""
        # Imported here: loaded only when this command runs (keeps `doudi --help` and other commands fast).
        from doudi.config import get_settings
        from doudi.db.engine import get_engine
        from doudi.synth.demo import account_lines, demo_area_names, run_demo, summary_lines
        from doudi.synth.demo_accounts import DEMO_REGION, demo_accounts

        # The accounts come first, so they are on screen before the (slower) first load starts.
        for line in account_lines(demo_accounts(DEMO_REGION), demo_area_names()):
            typer.echo(line)
        # Demo mode: citizens' one-time sign-in codes are written to the log instead of sent by SMS.
        settings = get_settings().model_copy(update={"demo": True})
        result = run_demo(
            settings=settings,
            engine=get_engine(),
            households=households,
            seed=seed,
            progress=Console(stderr=True),
            started=_LOADED,
        )
        for line in summary_lines(result):
            typer.echo(line)
        if serve:
            # Imported here: the web server stack is loaded only by the command that serves.
            import uvicorn

            # Imported here: the web server stack is loaded only by the command that serves.
            from doudi.main import create_app

            uvicorn.run(
                create_app(settings, engine=get_engine()), host=settings.host, port=settings.port, log_config=None
            )
