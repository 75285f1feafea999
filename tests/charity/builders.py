"""A small charity world: two townships' households, three partners, and the actors who act on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor, OrgKind, system_actor
from doudi.charity import consents, partners, service
from doudi.charity.models import Need
from doudi.charity.schemas import NeedCreate, PartnerCreate
from doudi.registry.models import Household
from tests.factories import TOWN_A, VILLAGE_A1, VILLAGE_B1, make_areas, make_household

ON = date(2026, 11, 2)  # a Monday
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


@dataclass
class World:
    """The households and actors of a test."""

    a: Household
    b: Household
    worker: Actor
    partner: Actor
    other_partner: Actor


def partner_actor(key: str) -> Actor:
    """A partner organisation's account."""
    return Actor(username=f"u_{key}", area_code="370784", roles=frozenset({"partner"}), user_id=None,
                 org_kind=OrgKind.PARTNER, org=key)


def world(db: Session) -> World:
    """Households in villages A1 and B1 (heads with phone and a disability), partners 'town_care' (township A,
    cash 1), 'county_fund' (county, cash 2) and 'county_jobs' (county, jobs 1)."""
    make_areas(db)
    a = make_household(db, VILLAGE_A1, head_name="张三")
    b = make_household(db, VILLAGE_B1, head_name="李四")
    for hh, phone in ((a, "13912345678"), (b, "13812345678")):
        person = hh.members[0].person
        person.phone = phone
        person.disability_grade = 2
        person.disability_category = "limb"
    system = system_actor(name="test")
    for key, area, offers, cap in (("town_care", TOWN_A, ["cash"], {"cash": 1}),
                                   ("county_fund", "370784", ["cash"], {"cash": 2}),
                                   ("county_jobs", "370784", ["jobs"], {"jobs": 1})):
        partners.create(db, actor=system, data=PartnerCreate(key=key, name=f"机构{key}", kind="charity",
                                                             area_code=area, offers=offers, capacity=cap))
    worker = Actor(username="worker_a", area_code=TOWN_A, roles=frozenset({"township_caseworker"}), user_id=None)
    return World(a, b, worker, partner_actor("town_care"), partner_actor("county_fund"))


def need(db: Session, actor: Actor, hh: Household, *, kind: str = "cash", amount: int | None = 300_000,
         deadline: date = date(2026, 11, 30), today: date = ON) -> Need:
    """A need raised by `actor` for `hh`."""
    return service.raise_need(db, actor=actor, data=NeedCreate(household_id=hh.id, kind=kind,
                                                               amount_fen=amount, size="" if amount else "一个岗位",
                                                               deadline=deadline), today=today)


def consent(db: Session, actor: Actor, hh: Household, purpose: str = "cash") -> None:
    """A signed consent form uploaded for the household."""
    consents.record_form(db, actor=actor, household_id=hh.id, purpose=purpose, signed_by="户主", given_on=ON,
                         filename="同意书.pdf", data=PDF)
