"""The permission table (role → actions) and the acting user's identity, area and organisation scope."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
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
    "partner",
    "auditor",
    "admin",
)


class OrgKind(StrEnum):
    """Kinds of organisation a user can act for, beside the area they belong to."""

    AGENCY = "agency"  # a government agency that sends a data feed: its data-source key
    PROVIDER = "provider"  # a care provider organisation
    PARTNER = "partner"  # a charity, social-work organisation, company or community group (charity domain)


# Roles that act for an organisation: such a user sees only what is addressed to it.
ROLE_ORG: dict[str, OrgKind] = {"agency_liaison": OrgKind.AGENCY, "care_provider": OrgKind.PROVIDER,
                                "partner": OrgKind.PARTNER}


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


@lru_cache
def action_labels() -> dict[str, str]:
    """Action key → what it lets a person do, in Chinese."""
    data = yaml.safe_load(files("doudi.auth").joinpath("permissions.yaml").read_text(encoding="utf-8"))
    return dict(data.get("actions") or {})


def action_label(action: str) -> str:
    """The Chinese name of an action (the key itself only for an action the table does not name)."""
    return action_labels().get(action, action)


def roles_with(action: str) -> list[str]:
    """The Chinese labels of the roles granted `action`, in the order of ROLES."""
    table, labels = permission_table(), role_labels()
    return [labels[r] for r in ROLES if action in table.get(r, frozenset())]


def who_can(action: str) -> str:
    """"乡镇经办人或县级民政审核人": who to wait for when the current user cannot act."""
    roles = roles_with(action)
    return "或".join(roles) if roles else "系统管理员"


def explain_denial(actor: Actor | None, action: str) -> str:
    """A 403 page's explanation: which permission is missing, which roles hold it, and whom to ask."""
    mine = "、".join(role_labels().get(r, r) for r in sorted(actor.roles)) if actor and actor.roles else "无角色"
    holders = "、".join(roles_with(action)) or "无（仅系统内部使用）"
    return (f"您的角色（{mine}）没有“{action_label(action)}”的权限。具有该权限的角色：{holders}。"
            "如确需办理，请联系系统管理员调整您的角色，或请上述人员办理。")


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
    org_kind: OrgKind | None = None  # the organisation acted for (agency liaisons, care providers, partners)
    org: str | None = None

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
            raise PermissionDenied(f"{self.username} 没有“{action_label(action)}”的权限", action=action)

    def sees(self, area_code: str | None) -> bool:
        """True when an object in `area_code` lies inside the actor's area subtree."""
        if self.system:
            return True
        return area_code is not None and within(area_code, self.area_code)

    @property
    def org_scoped(self) -> bool:
        """True for a user whose role acts for an organisation: they see only what is addressed to it."""
        return not self.system and any(role in ROLE_ORG for role in self.roles)

    def sees_org(self, kind: OrgKind, key: str | None) -> bool:
        """True when an object addressed to organisation `key` (of `kind`) is visible: always for area staff
        and the system, otherwise only for the actor's own organisation (none recorded: nothing)."""
        if not self.org_scoped:
            return True
        return self.org is not None and self.org_kind == kind and key == self.org


def system_actor(area_code: str = "000000", name: str = "system") -> Actor:
    """The actor used by CLI commands and scheduled jobs (full rights; still audited by name)."""
    return Actor(username=name, area_code=area_code, system=True)


def on_behalf(actor: Actor) -> Actor:
    """The same user doing follow-on work their action triggers (e.g. recording an application's
    authorisations, refreshing verification requests after a feed upload): any permission, but still only
    inside the user's own area, and still attributed to them."""
    return replace(actor, elevated=True)
