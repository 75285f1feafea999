"""Price subsidies: the 2022-09 to 2023-03 lower trigger (3.0%) and added 低保边缘 group, hand-computed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.core.errors import ValidationFailed
from doudi.payments import rules, subsidy
from doudi.payments.models import PaymentLine
from tests.factories import VILLAGE_A1, make_household
from tests.payments.world import COUNTY, account, enroll, make_staff

CPI = ("地区,月份,发布日期,CPI同比,食品CPI同比\n"
       "370700,2022-08,2022-09-09,3.2,5.0\n"
       "370700,2023-03,2023-04-11,3.2,5.0\n"
       "3707,2023-04,2023-05-11,3.2,5.0\n"
       "370700,2023-05,昨天,3.2,5.0\n")


def test_trigger_counts_the_number_itself() -> None:
    assert rules.subsidy_triggered(cpi_yoy=3.5, food_cpi_yoy=0, cpi_trigger=3.5, food_trigger=6)
    assert rules.subsidy_triggered(cpi_yoy=1.0, food_cpi_yoy=6.0, cpi_trigger=3.5, food_trigger=6)
    assert not rules.subsidy_triggered(cpi_yoy=3.49, food_cpi_yoy=5.99, cpi_trigger=3.5, food_trigger=6)
    assert rules.subsidy_fen(537, 3.2, 1.0, 0) == 1718  # 537 × 3.2% = 17.184 元 → 17.18


def test_subsidy_month_with_the_2022_rule_change(db: Session) -> None:
    staff = make_staff(db)
    n, errors = subsidy.import_cpi(db, actor=staff.preparer, data=CPI.encode())
    assert n == 2
    assert errors == ["第 4 行：地区代码 '3707' 应为 6 位数字", "第 5 行：发布日期或涨幅格式不正确"]
    two = make_household(db, VILLAGE_A1, members=[("王小红", "spouse", date(1972, 1, 1), "F")])
    enroll(db, program="dibao", amount="1074.00", start=date(2022, 1, 1), household=two)
    account(db, f"H{two.id}", "6230123400001111")
    edge = make_household(db, VILLAGE_A1, head_name="赵边缘")
    enroll(db, program="dibao_marginal", amount="0.01", start=date(2022, 1, 1), household=edge)
    # September 2022 (index of August published): CPI 3.2% reaches the lowered 3.0% trigger; 低保边缘 added.
    roll, why = subsidy.generate_subsidy_roll(db, actor=staff.preparer, county=COUNTY, month=date(2022, 9, 1),
                                              today=date(2022, 9, 15))
    assert roll is not None and "3.0%" in why
    got = sorted((ln.payee_key, ln.amount_fen) for ln in db.scalars(
        select(PaymentLine).where(PaymentLine.roll_id == roll.id)))
    # rural 537 × 3.2% = 17.18 元 per person: the 2-person 低保 household 34.36, the 低保边缘 household 17.18.
    assert got == sorted([(f"H{two.id}", 3436), (f"H{edge.id}", 1718)])
    assert roll.total_fen == 3436 + 1718
    # April 2023 (index of March): the trigger is 3.5% again, so 3.2% starts nothing.
    none, why = subsidy.generate_subsidy_roll(db, actor=staff.preparer, county=COUNTY, month=date(2023, 4, 1),
                                              today=date(2023, 4, 15))
    assert none is None and "未达到启动条件" in why and "3.5%" in why


def test_cpi_file_without_columns_refused(db: Session) -> None:
    staff = make_staff(db)
    with pytest.raises(ValidationFailed, match="价格指数文件须有列"):
        subsidy.import_cpi(db, actor=staff.preparer, data=b"a,b\n1,2\n")
