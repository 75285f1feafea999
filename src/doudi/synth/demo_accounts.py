"""The demo accounts: one per role, at sensible areas of the synthetic county (the single place they live).

Browser tests and the README log in with these. The password is public on purpose: demo data only.
It meets the password rules (10+ characters, 3 character classes, no username inside).
"""

from __future__ import annotations

from dataclasses import dataclass

from doudi.auth.permissions import ROLES

DEMO_PASSWORD = "Doudi#2026demo"
DEMO_REGION = "370784"


@dataclass(frozen=True)
class DemoAccount:
    """One demo login."""

    username: str
    password: str
    role: str
    area_code: str
    full_name: str
    org: str | None = None  # the organisation an agency liaison or care provider acts for


# (username, role, level, full name); level picks the area: county, township (001) or its first village (001).
# The liaison works for the human-resources and social-security bureau (its social-insurance feed).
ORGS = {"liaison": "social_insurance", "care": "ankang_care", "partner": "cixin_fund"}
_SPEC = (
    ("county", "county_officer", "county", "县民政局 李审核"),
    ("verifier", "verification_officer", "county", "县核对中心 张核对"),
    ("auditor", "auditor", "county", "县审计 赵审计"),
    ("admin", "admin", "county", "系统管理员 孙管理"),
    ("liaison", "agency_liaison", "county", "县人社局 周联络"),
    ("caseworker", "township_caseworker", "township", "新安街道 王经办"),
    ("approver", "township_approver", "township", "新安街道 刘审批"),
    ("care", "care_provider", "township", "安康养老服务中心 陈照料"),
    ("village", "village_assistant", "village", "村协理员 吴协理"),
    ("partner", "partner", "county", "慈心公益基金会 郑联络"),
)


def area_for(level: str, region: str = DEMO_REGION) -> str:
    """The demo area code of a level: the county, its first synthetic township, or that township's first village."""
    return {"county": region, "township": f"{region}001", "village": f"{region}001001"}[level]


def demo_accounts(region: str = DEMO_REGION) -> list[DemoAccount]:
    """Every demo account, one per role in ROLES order."""
    accounts = [DemoAccount(u, DEMO_PASSWORD, role, area_for(level, region), name, ORGS.get(u))
                for u, role, level, name in _SPEC]
    order = {role: i for i, role in enumerate(ROLES)}
    missing = set(ROLES) - {a.role for a in accounts}
    if missing:
        raise RuntimeError(f"demo accounts lack roles {sorted(missing)}")
    return sorted(accounts, key=lambda a: order[a.role])
