"""Demo seed: the township's existing recipients (存量在保对象) with their accounts, last month's rolls paid
and reconciled (one account closed, awaiting re-issue), and this month's rolls waiting for approval."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth.permissions import system_actor
from doudi.auth.scope import under
from doudi.cases.models import Enrollment
from doudi.core.dates import month_start, shift_months
from doudi.db.frames import read_frame, write_frame
from doudi.payments import bank, reconcile, service
from doudi.payments.models import AccountStatus, PayeeAccount, PaymentLine, PaymentRoll
from doudi.policy.params import load_pack
from doudi.registry.models import Household, Membership, Person

BANKS = ("安丘农村商业银行", "中国农业银行安丘支行", "中国邮政储蓄银行安丘支行")


def seed(session: Session, *, today: date, township: str, households: int = 60) -> None:
    """Fill the payment domain for the demo township (idempotent: nothing is added twice)."""
    county = township[:6]
    month = month_start(today)
    last = shift_months(month, -1)
    actor = system_actor(name="演示数据")
    rng = random.Random(20201201)
    if session.scalar(select(PaymentRoll.id).where(PaymentRoll.area_code == county).limit(1)) is not None:
        return
    enrolled = set(session.scalars(under(select(Enrollment.household_id), Enrollment.area_code, township)))
    heads = read_frame(session, under(select(Household.id.label("household_id"), Household.area_code,
                                             Household.hukou_type, Person.id.label("person_id"), Person.name,
                                             Person.birth_date)
                                      .join(Membership, Membership.household_id == Household.id)
                                      .join(Person, Person.id == Membership.person_id)
                                      .where(Membership.relation == "head", Membership.valid_to.is_(None),
                                             Person.date_of_death.is_(None))
                                      .order_by(Household.id), Household.area_code, township))
    heads = heads.filter(~pl.col("household_id").is_in(sorted(enrolled)))
    picks = heads.head(households)
    if picks.is_empty():
        return
    pack = load_pack(county)
    start = last
    rows, accounts = [], []
    for i, h in enumerate(picks.iter_rows(named=True)):
        standard = Decimal(str(pack.value(f"dibao.standard.{h['hukou_type']}", on=start)))
        personal = i % 6 == 0  # every sixth recipient is a 特困 person, with a care level
        level = ("self_care", "partial", "full")[i % 3] if personal else ""
        care = {"self_care": 0, "partial": 200, "full": 500}.get(level, 0)
        amount = (standard * Decimal("1.3") + care) if personal else standard * rng.choice([1, 2, 2, 3]) \
            - Decimal(rng.randrange(0, 300))
        rows.append({"household_id": h["household_id"], "person_id": h["person_id"] if personal else None,
                     "area_code": h["area_code"], "program": "extreme_poverty" if personal else "dibao",
                     "status": "active", "monthly_amount": amount.quantize(Decimal("0.01")), "level": level,
                     "start_month": start, "review_cycle_months": 12})
        if i % 15 != 7:  # a few recipients have given no account yet: their lines are held
            key = f"P{h['person_id']}" if personal else f"H{h['household_id']}"
            accounts.append({"payee_key": key, "area_code": h["area_code"], "holder_name": h["name"],
                             "bank_name": BANKS[i % len(BANKS)], "account_no": f"62305{h['household_id']:011d}",
                             "social_security_card": True, "status": AccountStatus.CONFIRMED.value})
    write_frame(session, Enrollment, pl.DataFrame(rows))
    write_frame(session, PayeeAccount, pl.DataFrame(accounts))
    for program in ("dibao", "extreme_poverty"):
        paid = service.generate_roll(session, actor=actor, county=county, month=last, program=program)
        service.approve_roll(session, actor=actor, roll_id=paid.id, version=paid.version)
        bank.export_roll(session, actor=actor, roll_id=paid.id, fmt="pain001", today=last)
        refs = list(session.scalars(select(PaymentLine.end_to_end_id).where(
            PaymentLine.roll_id == paid.id, PaymentLine.status == "pending").order_by(PaymentLine.id)))
        # One closed account in the 低保 roll shows a rejection waiting for its re-issue.
        answers = [(ref, "RJCT", "AC04") if n == 2 and program == "dibao" else (ref, "ACSC", "")
                   for n, ref in enumerate(refs)]
        reconcile.reconcile(session, actor=actor, filename=f"回盘-{last:%Y%m}-{program}.xml", data=_pain002(answers))
        service.generate_roll(session, actor=actor, county=county, month=month, program=program)


def _pain002(rows: list[tuple[str, str, str]]) -> bytes:
    ns = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"
    txs = "".join(
        f"<TxInfAndSts><OrgnlEndToEndId>{e}</OrgnlEndToEndId><TxSts>{s}</TxSts>"
        + (f"<StsRsnInf><Rsn><Cd>{c}</Cd></Rsn></StsRsnInf>" if c else "") + "</TxInfAndSts>" for e, s, c in rows)
    return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><CstmrPmtStsRpt><GrpHdr><MsgId>DEMO'
            f"</MsgId></GrpHdr><OrgnlPmtInfAndSts>{txs}</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>").encode()
