"""Small builders for test data: synthetic areas, users, households with valid ID numbers."""

from __future__ import annotations

import itertools
import re
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from doudi.areas.service import AreaRow, upsert_areas
from doudi.auth import service as auth
from doudi.auth.models import User
from doudi.auth.permissions import system_actor
from doudi.core.ids import build_id_number
from doudi.registry.models import Household, IncomeFact, Membership, Person

PASSWORD = "Passw0rd!23"
TOWN_A, TOWN_B = "370784001", "370784002"
VILLAGE_A1, VILLAGE_A2, VILLAGE_B1 = "370784001001", "370784001002", "370784002001"

_seq = itertools.count(1)


def make_areas(session: Session) -> None:
    """Two synthetic townships of 安丘 with villages, marked synthetic."""
    upsert_areas(session, rows=[
        AreaRow(TOWN_A, "新安街道", True, "synthetic"),
        AreaRow(TOWN_B, "景芝镇", True, "synthetic"),
        AreaRow(VILLAGE_A1, "东村社区", True, "synthetic"),
        AreaRow(VILLAGE_A2, "西村社区", True, "synthetic"),
        AreaRow(VILLAGE_B1, "南村", True, "synthetic"),
    ])


# The organisation an organisation role acts for, unless a test names another.
DEFAULT_ORG = {"agency_liaison": "social_insurance", "care_provider": "ankang_care", "partner": "probe_partner"}


def make_user(session: Session, username: str, roles: list[str], area: str, **kw: object) -> User:
    """A user with a known password (and, for an organisation role, an organisation)."""
    org = kw.pop("org", next((DEFAULT_ORG[r] for r in roles if r in DEFAULT_ORG), None))
    return auth.create_user(session, actor=system_actor(), username=username, password=PASSWORD, roles=roles,
                            area_code=area, org=org, **kw)  # type: ignore[arg-type]


def make_person(session: Session, name: str, birth: date, sex: str = "M", **kw: object) -> Person:
    """A person with a valid, unique ID number."""
    number = build_id_number("370784", birth, next(_seq) * 2 % 1000, sex)
    while session.query(Person).filter_by(id_number=number).first():
        number = build_id_number("370784", birth, next(_seq) * 2 % 1000, sex)
    p = Person(id_number=number, name=name, sex=sex, birth_date=birth, version=1, **kw)
    session.add(p)
    session.flush()
    return p


def make_household(
    session: Session, area: str = VILLAGE_A1, *, head_name: str = "王建国", hukou: str = "rural",
    members: list[tuple[str, str, date, str]] | None = None, wage: Decimal | None = None,
) -> Household:
    """A household with a head and optional members (name, relation, birth, sex)."""
    hh = Household(household_no=f"H{next(_seq):08d}", area_code=area, address="测试地址", hukou_type=hukou, version=1)
    session.add(hh)
    session.flush()
    head = make_person(session, head_name, date(1970, 5, 1))
    session.add(Membership(household_id=hh.id, person_id=head.id, relation="head", valid_from=date(2020, 1, 1)))
    for name, relation, birth, sex in members or []:
        p = make_person(session, name, birth, sex)
        session.add(Membership(household_id=hh.id, person_id=p.id, relation=relation, valid_from=date(2020, 1, 1)))
    if wage is not None:
        session.add(IncomeFact(household_id=hh.id, person_id=head.id, kind="wage", amount=wage,
                               source_kind="declared", period_start=date(2026, 1, 1), period_end=date(2026, 6, 30)))
    session.flush()
    session.refresh(hh)
    return hh


def found(pattern: str, text: str) -> str:
    """The first group of a pattern that must occur in the text (a page's CSRF token, say)."""
    match = re.search(pattern, text)
    assert match is not None, f"{pattern!r} not found"
    return match.group(1)
