"""The township reserve fund: allotment, spending linked to cases, the single limit (以下 includes 1,000),
spending beyond the balance only with the county, and the balance after every entry."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from doudi.cases.models import Case
from doudi.core.errors import Conflict, PermissionDenied, ValidationFailed
from doudi.payments import reserve
from tests.factories import TOWN_A, VILLAGE_A1
from tests.payments.world import make_staff

DAY = date(2026, 3, 2)


def _case(db: Session, no: str) -> int:
    c = Case(case_no=no, kind="emergency", area_code=VILLAGE_A1, status="open", channel="staff",
             applicant_name="急难户", version=1)
    db.add(c)
    db.flush()
    return c.id


def test_ledger_balance_limit_and_county_approval(db: Session) -> None:
    staff = make_staff(db)
    with pytest.raises(PermissionDenied):
        reserve.record(db, actor=staff.worker, township=TOWN_A, kind="allot", amount_fen=200000, today=DAY)
    reserve.record(db, actor=staff.preparer, township=TOWN_A, kind="allot", amount_fen=150000, today=DAY)
    a, b = _case(db, "LS1"), _case(db, "LS2")
    # 1,000.00 is within the limit (以下 includes the number); 1,000.01 is not.
    e1 = reserve.record(db, actor=staff.worker, township=TOWN_A, kind="spend", amount_fen=100000, today=DAY,
                        case_id=a, note="先行救助")
    assert e1.balance_fen == 50000 and e1.seq == 2
    with pytest.raises(ValidationFailed, match="单笔限额 1000 元"):
        reserve.record(db, actor=staff.worker, township=TOWN_A, kind="spend", amount_fen=100001, today=DAY,
                       case_id=b)
    with pytest.raises(ValidationFailed, match="须关联临时救助案件"):
        reserve.record(db, actor=staff.worker, township=TOWN_A, kind="spend", amount_fen=100, today=DAY)
    # 800.00 against a balance of 500.00: the township cannot, the county can (and is recorded as approving).
    with pytest.raises(Conflict, match=r"余额 500\.00 元不足"):
        reserve.record(db, actor=staff.worker, township=TOWN_A, kind="spend", amount_fen=80000, today=DAY, case_id=b)
    e3 = reserve.record(db, actor=staff.preparer, township=TOWN_A, kind="spend", amount_fen=80000, today=DAY,
                        case_id=b)
    assert e3.balance_fen == -30000 and e3.county_approved_by == "pay_maker"
    with pytest.raises(Conflict, match="该案件已从备用金支出"):  # one spend per case
        reserve.record(db, actor=staff.preparer, township=TOWN_A, kind="spend", amount_fen=100, today=DAY, case_id=a)
    e4 = reserve.record(db, actor=staff.preparer, township=TOWN_A, kind="replenish", amount_fen=130000, today=DAY)
    assert e4.balance_fen == 100000
    assert reserve.balance(db, township=TOWN_A) == (4, 100000)
    assert [e.seq for e in reserve.ledger(db, actor=staff.worker, township=TOWN_A)] == [4, 3, 2, 1]
