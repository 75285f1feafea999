"""A small paying county for payment tests: 安丘 townships, staff for every payment role, and builders for
enrollments, their changes and confirmed accounts (amounts chosen so every expected figure is easy by hand)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from doudi.auth import service as auth
from doudi.auth.permissions import Actor
from doudi.cases.models import Enrollment, EnrollmentChange
from doudi.payments.models import AccountStatus, PayeeAccount
from doudi.registry.models import Household, Person
from tests.factories import VILLAGE_A1, make_areas, make_household, make_person, make_user

COUNTY = "370784"


@dataclass
class Staff:
    """Actors for the payment roles: preparer and a second county officer, a township caseworker."""

    preparer: Actor
    checker: Actor
    worker: Actor
    worker2: Actor


def make_staff(db: Session) -> Staff:
    """Areas and staff."""
    make_areas(db)
    users = {
        "preparer": make_user(db, "pay_maker", ["county_officer"], COUNTY),
        "checker": make_user(db, "pay_checker", ["county_officer"], COUNTY),
        "worker": make_user(db, "pay_worker", ["township_caseworker"], "370784001"),
        "worker2": make_user(db, "pay_worker2", ["township_approver"], "370784001"),
    }
    return Staff(**{k: auth.actor_for(u) for k, u in users.items()})


def enroll(db: Session, *, program: str, amount: str, start: date, household: Household | None = None,
           person: Person | None = None, level: str = "", status: str = "active", end: date | None = None,
           exit_until: date | None = None) -> Enrollment:
    """An enrollment (household, or personal when `person` is given) paying `amount` yuan a month."""
    hh = household or make_household(db, VILLAGE_A1)
    e = Enrollment(household_id=hh.id, person_id=person.id if person else None, area_code=hh.area_code,
                   program=program, status=status, monthly_amount=Decimal(amount), level=level, start_month=start,
                   end_month=end, gradual_exit_until=exit_until, version=1)
    db.add(e)
    db.flush()
    return e


def change(db: Session, e: Enrollment, *, kind: str, month: date, old: str, new: str, old_level: str = "",
           new_level: str = "") -> EnrollmentChange:
    """An effective change of amount (and level) from `month`."""
    c = EnrollmentChange(enrollment_id=e.id, kind=kind, status="effective", effective_month=month,
                         old_amount=Decimal(old), new_amount=Decimal(new), old_level=old_level, new_level=new_level,
                         reason="测试调整", version=1)
    db.add(c)
    db.flush()
    return c


def account(db: Session, payee_key: str, number: str, *, area: str = VILLAGE_A1, name: str = "王建国",
            bank: str = "安丘农村商业银行") -> PayeeAccount:
    """A confirmed account (the confirmation flow itself is tested separately)."""
    a = PayeeAccount(payee_key=payee_key, area_code=area, holder_name=name, bank_name=bank, account_no=number,
                     social_security_card=True, status=AccountStatus.CONFIRMED, version=1)
    db.add(a)
    db.flush()
    return a


def head_key(hh: Household) -> str:
    """The payee key of a household program."""
    return f"H{hh.id}"


def person(db: Session, name: str, birth: date) -> Person:
    """A person (with a valid ID number)."""
    return make_person(db, name, birth)
