"""`doudi users create|list|unlock|revoke-tokens`."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from doudi.audit import service as audit
from doudi.auth import service
from doudi.auth.models import User
from doudi.auth.permissions import ROLES, system_actor
from doudi.core.errors import NotFound
from doudi.db.engine import session_scope


def register(app: typer.Typer) -> None:
    """Add the user commands to the root app."""
    users = typer.Typer(help="用户与角色", no_args_is_help=True)
    app.add_typer(users, name="users")

    @users.command("create", help="创建用户：可有多个角色，绑定辖区（部分角色还须绑定所属机构）")
    def create(
        username: str = typer.Option(..., "--username", help="用户名"),
        password: str = typer.Option(..., "--password", help="至少 10 位，含三类字符"),
        role: list[str] = typer.Option(..., "--role", help="角色代码，可重复", metavar="|".join(ROLES)),
        area: str = typer.Option(..., "--area", help="县、乡镇或村的区划代码"),
        full_name: str = typer.Option("", "--name", help="姓名"),
        org: str = typer.Option("", "--org", help="所属机构：部门联络员填数据源代码，"
                                                 "照料服务机构填机构代码"),
    ) -> None:
        """Create a user with one or more roles, bound to an area (and, for some roles, an organisation)."""
        with session_scope() as session:
            user = service.create_user(session, actor=system_actor(name="cli"), username=username,
                                       password=password, roles=role, area_code=area, full_name=full_name, org=org)
            where = f"，所属机构 {user.org_key}" if user.org_key else ""
            typer.echo(f"已创建用户 {user.username}（{', '.join(sorted(user.roles))}，辖区 {user.area_code}{where}）")

    @users.command("list", help="列出全部用户及其角色、辖区和锁定状态")
    def list_users() -> None:
        """List every user with roles, area and lock state."""
        with session_scope() as session:
            table = Table("用户名", "姓名", "角色", "辖区", "所属机构", "状态")
            for u in session.scalars(select(User).order_by(User.username)):
                state = "停用" if not u.is_active else ("锁定" if u.locked_until else "正常")
                table.add_row(u.username, u.full_name, ",".join(sorted(u.roles)), u.area_code, u.org_key or "", state)
            Console().print(table)

    @users.command("unlock", help="解除因多次登录失败造成的锁定")
    def unlock(username: str = typer.Argument(..., help="用户名")) -> None:
        """Clear a lock-out after too many failed logins."""
        with session_scope() as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise NotFound(f"用户 {username} 不存在")
            user.locked_until, user.failed_logins = None, 0
            audit.record(session, actor=system_actor(name="cli"), action="user.unlock", object_type="user",
                         object_id=user.id, area_code=user.area_code)
            typer.echo(f"已解锁 {username}")
