"""Pure decisions of the procedure, with no database access: the temporary-aid approval level by amount and
the fixed vocabularies of the step forms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from doudi.cases.models import Case
from doudi.policy.params import load_pack

DECISIONS = {"approve", "reject"}
OBJECTION_BASIS = "审核确认办法第十九条：公示有异议的，重新调查或民主评议"
COLLECTIVE_NEEDED = "超出县级额度，须“一事一议”：记录会议日期和参加人员"
ONE_OFF = {"temporary_assistance", "rigid_expense_hardship", "dibao_marginal"}  # no monthly payment
PAPERWORK = "补齐临时救助手续：登记救助对象、事由、金额，补办经办人员签字盖章"
FUND_LABELS = {"township": "乡镇备用金", "county": "县级", "case_by_case": "一事一议"}


def approval_level(area_code: str, hukou_type: str, amount: Decimal, on: date) -> str:
    """township up to and including the township limit ("1000元以下" includes 1000, 民法典 Art. 1259), county up
    to the county cap (a number of months of the 低保 standard), case_by_case (一事一议) above it."""
    pack = load_pack(area_code)
    township_limit = Decimal(str(pack.value("temporary_assistance.township_limit", on=on)))
    standard = Decimal(str(pack.value(f"dibao.standard.{hukou_type}", on=on)))
    county_cap = standard * Decimal(str(pack.value("temporary_assistance.county_cap_months", on=on)))
    if amount <= township_limit:
        return "township"
    if amount <= county_cap:
        return "county"
    return "case_by_case"


def review_cycle_months(case: Case, program: str, *, default: int) -> int:
    """审核确认办法 Art. 31 review cycle as the engine decided it at acceptance (its `review_months` trace:
    yearly for stable households, half-yearly with working-age members on irregular income)."""
    proposed: dict[str, Any] = dict(case.proposed or {})
    trace = proposed.get("programs", {}).get(program, {}).get("trace") or {}
    return int(trace.get("review_months") or default)
