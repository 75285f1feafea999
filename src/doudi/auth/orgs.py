"""Which organisation a user acts for: checked against the role and, for agencies, the declared data sources."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from doudi.auth.permissions import ROLE_ORG, OrgKind, role_labels
from doudi.core.errors import FieldError
from doudi.verification.sources import load_sources

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

# A domain that keeps a register of its organisations adds its check here when it is imported (auth imports
# no domain): partners are checked against the charity register.
OrgCheck = Callable[["Session", str], bool]
REGISTERS: dict[OrgKind, OrgCheck] = {}
REGISTER_NAMES = {OrgKind.PARTNER: "合作机构名录"}


def register_check(kind: OrgKind, check: OrgCheck) -> None:
    """Check the organisation keys of `kind` against a domain's register."""
    REGISTERS[kind] = check


def agencies() -> dict[str, str]:
    """Agency keys (the data sources they send) → label, for the admin page's choices."""
    return {key: f"{src.agency}（{src.label}）" for key, src in load_sources().items()}


def resolve_org(roles: list[str], org: str | None, *, session: Session | None = None
                ) -> tuple[OrgKind | None, str | None, list[FieldError]]:
    """The organisation kind and key a user with `roles` acts for, or the errors that forbid it.

    A role that acts for an organisation needs one; other roles take none. Agencies must be a declared data
    source; a kind with a register (partners) must be registered there; care providers are keyed freely."""
    org = (org or "").strip() or None
    kinds = {ROLE_ORG[r] for r in roles if r in ROLE_ORG}
    labels = role_labels()
    if not kinds:
        if org is not None:
            return None, None, [FieldError("org", "只有部门联络员、照料服务机构等角色可指定所属机构")]
        return None, None, []
    if len(kinds) > 1:
        names = "、".join(labels[r] for r in roles if r in ROLE_ORG)
        return None, None, [FieldError("role", f"{names} 属于不同类型的机构，不能授予同一账户")]
    kind = kinds.pop()
    if org is None:
        return None, None, [FieldError("org", "该角色须指定所属机构（--org）")]
    if not KEY.match(org):
        return None, None, [FieldError("org", f"机构代码 {org!r} 只能包含字母、数字、下划线、点和连字符（最多 64 位）")]
    if kind == OrgKind.AGENCY and org not in load_sources():
        return None, None, [FieldError("org", f"未知部门数据源 {org!r}；可选：{', '.join(load_sources())}")]
    check = REGISTERS.get(kind)
    if session is not None and check is not None and not check(session, org):
        return None, None, [FieldError("org", f"机构代码 {org!r} 未在{REGISTER_NAMES.get(kind, '机构名录')}中登记")]
    return kind, org, []
