"""A small care world: two townships, dispersed 特困 persons with enrollments, a provider with caregivers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor, system_actor
from doudi.care import service as care
from doudi.care.models import Caregiver, CareProvider, CareRecipient
from doudi.cases.models import Enrollment
from doudi.registry.models import Person
from tests.factories import TOWN_A, TOWN_B, VILLAGE_A1, VILLAGE_B1, make_areas, make_household

COUNTY = "370784"
ALL_ABLE = {"eating": True, "dressing": True, "bed_transfer": True, "toileting": True, "indoor_walking": True,
            "bathing": True}
HOME_A = (36.4780, 119.2190)  # a home in 新安街道 (synthetic coordinates)


def items(unable: int) -> dict[str, bool]:
    """The six items with the first `unable` not met."""
    keys = list(ALL_ABLE)
    return {k: i >= unable for i, k in enumerate(keys)}


@dataclass
class World:
    """What the tests act on."""

    sys: Actor
    provider: CareProvider
    other_provider: CareProvider
    giver: Caregiver
    giver2: Caregiver
    other_giver: Caregiver
    person: Person
    person_b: Person
    enrollment: Enrollment


def dispersed_person(db: Session, area: str, name: str, start: date) -> tuple[Person, Enrollment]:
    """A dispersed 特困 person living alone, enrolled from `start`."""
    hh = make_household(db, area, head_name=name)
    person = hh.members[0].person
    person.extreme_poverty_supported, person.support_mode = True, "dispersed"
    e = Enrollment(household_id=hh.id, person_id=person.id, area_code=area, program="extreme_poverty",
                   status="active", monthly_amount=Decimal("960.00"), level="", start_month=start, version=1)
    db.add(e)
    db.flush()
    return person, e


def build(db: Session) -> World:
    """Areas, two providers (A serves 新安街道, B serves 景芝镇), caregivers, two persons assessed."""
    make_areas(db)
    sys = system_actor()
    p = care.create_provider(db, actor=sys, key="ankang_care", name="安康养老服务中心", area_code=COUNTY,
                             contract_no="AQ-2026-01", contract_from=date(2026, 1, 1), contract_to=date(2026, 12, 31),
                             townships=[TOWN_A], services=["meal", "cleaning", "bathing"],
                             hourly_rate=Decimal("36.50"))
    q = care.create_provider(db, actor=sys, key="jingzhi_care", name="景芝居家服务社", area_code=COUNTY,
                             contract_no="AQ-2026-02", contract_from=date(2026, 1, 1), contract_to=date(2026, 12, 31),
                             townships=[TOWN_B], services=["meal", "cleaning"])
    g1 = care.add_caregiver(db, actor=sys, provider_id=p.id, name="陈护理", area_code=TOWN_A)
    g2 = care.add_caregiver(db, actor=sys, provider_id=p.id, name="林护理", area_code=TOWN_A)
    g3 = care.add_caregiver(db, actor=sys, provider_id=q.id, name="赵护理", area_code=TOWN_B)
    person, enr = dispersed_person(db, VILLAGE_A1, "孙老汉", date(2026, 1, 1))
    person_b, _ = dispersed_person(db, VILLAGE_B1, "周大娘", date(2026, 1, 1))
    care.record_assessment(db, actor=sys, person_id=person.id, assessed_on=date(2026, 1, 10), items=items(2),
                           assessor="王经办", evidence="入户查看")
    care.record_assessment(db, actor=sys, person_id=person_b.id, assessed_on=date(2026, 1, 10), items=items(0),
                           assessor="王经办", evidence="入户查看")
    care.enroll_recipient(db, actor=sys, person_id=person.id, provider_id=p.id, latitude=HOME_A[0], longitude=HOME_A[1])
    care.enroll_recipient(db, actor=sys, person_id=person_b.id, provider_id=q.id)
    return World(sys, p, q, g1, g2, g3, person, person_b, enr)


def recipient(db: Session, person_id: int) -> CareRecipient:
    """The recipient row of a person."""
    from sqlalchemy import select

    r = db.scalar(select(CareRecipient).where(CareRecipient.person_id == person_id))
    assert r is not None
    return r
