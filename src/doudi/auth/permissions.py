"""The permission table (role → actions) and the acting user's identity and area scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files

import yaml

from doudi.areas.codes import scope_prefix, within
from doudi.core.errors import PermissionDenied

ROLES = (
    "village_assistant",
    "township_caseworker",
    "township_approver",
    "county_officer",
    "verification_officer",
    "care_provider",
    "agency_liaison",
    "auditor",
    "admin",
)


@lru_cache
def permission_table() -> dict[str, frozenset[str]]:
    """Role key → the actions it grants, from permissions.yaml."""
    data = yaml.safe_load(files("doudi.auth").joinpath("permissions.yaml").read_text(encoding="utf-8"))
    table = {role: frozenset(spec["actions"]) for role, spec in data["roles"].items()}
    missing = set(ROLES) - set(table)
    if missing:
        raise RuntimeError(f"permissions.yaml lacks roles {sorted(missing)}")
    return table


@lru_cache
def role_labels() -> dict[str, str]:
    """Role key → Chinese label."""
    data = yaml.safe_load(files("doudi.auth").joinpath("permissions.yaml").read_text(encoding="utf-8"))
    return {role: spec["label"] for role, spec in data["roles"].items()}


def all_actions() -> frozenset[str]:
    """Every action any role can be granted."""
    return frozenset().union(*permission_table().values())


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, a citizen, or the system itself (CLI, scheduled jobs)."""

    username: str
    area_code: str
    roles: frozenset[str] = field(default_factory=frozenset)
    user_id: int | None = None
    ip: str = ""
    system: bool = False
    elevated: bool = False  # may do follow-on work beyond its roles, but only inside its own area

    @property
    def prefix(self) -> str:
        """Area-code prefix of everything this actor may see (empty for the system: everything)."""
        return "" if self.system else scope_prefix(self.area_code)

    def can(self, action: str) -> bool:
        """True when one of the actor's roles grants the action (the system may do everything)."""
        if self.system or self.elevated:
            return True
        table = permission_table()
        return any(action in table.get(role, frozenset()) for role in self.roles)

    def require(self, action: str) -> None:
        """Raise PermissionDenied unless the actor may perform the action."""
        if not self.can(action):
            raise PermissionDenied(f"{self.username} 无权执行 {action}")

    def sees(self, area_code: str | None) -> bool:
        """True when an object in `area_code` lies inside the actor's area subtree."""
        if self.system:
            return True
        return area_code is not None and within(area_code, self.area_code)


def system_actor(area_code: str = "000000", name: str = "system") -> Actor:
    """The actor used by CLI commands and scheduled jobs (full rights; still audited by name)."""
    return Actor(username=name, area_code=area_code, system=True)


def on_behalf(actor: Actor) -> Actor:
    """The same user doing follow-on work their action triggers (e.g. recording an application's
    authorisations, refreshing verification requests after a feed upload): any permission, but still only
    inside the user's own area, and still attributed to them."""
    from dataclasses import replace

    return replace(actor, elevated=True)
