"""The `doudi` command: one Typer app with a sub-command group per domain."""

from __future__ import annotations

import importlib
import sys

import typer
from sqlalchemy.exc import DBAPIError

from doudi.core import allocator
from doudi.core.errors import DoudiError, ValidationFailed
from doudi.core.validation import field_label
from doudi.db.versions import is_write_conflict

app = typer.Typer(help="兜底 doudi: 社会救助一体化平台", no_args_is_help=True, pretty_exceptions_enable=False)

# Before the command modules load Polars, which reads its allocator's settings once (none of the imports
# above loads it; tests/core/test_allocator.py checks).
allocator.for_batch(sys.argv)

# Each module exposes `register(app)`, adding its commands or sub-groups to the root.
COMMAND_MODULES = [
    "doudi.commands.system",
    "doudi.commands.calendar",
    "doudi.commands.daily",
    "doudi.areas.commands",
    "doudi.auth.commands",
    "doudi.audit.commands",
    "doudi.verification.commands",
    "doudi.policy.commands",
    "doudi.registry.commands",
    "doudi.caseload.commands",
    "doudi.synth.commands",
    "doudi.cases.commands",
    "doudi.monitoring.commands",
    "doudi.payments.commands",
    "doudi.care.commands",
    "doudi.targeting.commands",
    "doudi.charity.commands",
    "doudi.charity.fund.commands",  # doudi charity fund … (added to the charity group above)
    "doudi.charity.support.commands",  # doudi charity support …
    "doudi.scale.commands",
]

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Entry point: run the CLI, turning domain errors into a clear message and exit code 2."""
    try:
        rc = app(standalone_mode=False)  # click returns the exit code of typer.Exit here
    except ValidationFailed as exc:
        typer.echo("输入有误：", err=True)
        for err in exc.errors:
            # The Chinese name of the field, and the key the input file uses for it.
            where = f"第 {err.row} 行 " if err.row is not None else ""
            named = field_label(err.field)
            key = f"（{err.field}）" if named != err.field else ""
            typer.echo(f"  - {where}{named}{key}：{err.message}", err=True)
        sys.exit(2)
    except DoudiError as exc:
        typer.echo(f"错误：{exc}", err=True)
        sys.exit(2)
    except DBAPIError as exc:
        if is_write_conflict(exc):
            typer.echo("错误：数据在本次操作期间被其他操作修改，本次未作任何更改；请重新运行", err=True)
            sys.exit(2)
        missing = any(s in str(exc.orig) for s in ("no such table", "does not exist", "no such column"))
        hint = "数据库结构不是最新版本，请先运行 `doudi db upgrade`" if missing else \
            "请检查 DOUDI_DATABASE_URL 与数据库状态"
        typer.echo(f"数据库错误：{str(exc.orig).splitlines()[0]}\n{hint}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("已取消", err=True)
        sys.exit(1)
    except Exception as exc:
        # Usage errors (Typer's bundled click) know how to show themselves and their exit code.
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        raise
    if isinstance(rc, int) and rc:
        sys.exit(rc)
