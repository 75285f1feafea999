"""The console's side navigation; each entry shows only to roles with its action."""

from __future__ import annotations

from dataclasses import dataclass

from doudi.auth.permissions import Actor


@dataclass(frozen=True)
class NavItem:
    """One navigation link."""

    label: str
    url: str
    action: str | None  # the permission needed to see it; None for everyone signed in


NAV: list[NavItem] = [
    NavItem("工作台", "/", None),
    NavItem("待办事项", "/inbox", "case.read"),
    NavItem("救助案件", "/cases", "case.read"),
    NavItem("在保对象", "/enrollments", "case.read"),
    NavItem("家庭档案", "/households", "household.read"),
    NavItem("审计日志", "/audit", "audit.read"),
    NavItem("导入台账", "/imports", "import.run"),
    NavItem("用户管理", "/admin/users", "user.read"),
    NavItem("行政区划", "/admin/areas", "area.manage"),
    NavItem("数据备份", "/admin/backup", "system.backup"),
]


def register(item: NavItem, *, before: str | None = None) -> None:
    """Add a navigation entry (domains call this when their pages are mounted)."""
    if any(n.url == item.url for n in NAV):
        return
    if before:
        for i, n in enumerate(NAV):
            if n.url == before:
                NAV.insert(i, item)
                return
    NAV.append(item)


def nav_for(actor: Actor, path: str) -> list[dict[str, object]]:
    """The entries this actor may see, with the active one marked."""
    out = []
    # The longest matching entry is active, so /policy/simulate does not also light up /policy.
    matching = [n.url for n in NAV if n.url == path or (n.url != "/" and path.startswith(n.url))]
    best = max(matching, key=len, default=None)
    for item in NAV:
        if item.action is None or actor.can(item.action):
            out.append({"label": item.label, "url": item.url, "active": item.url == best})
    return out
