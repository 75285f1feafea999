"""The statutory procedure as data: which steps a case has, who acts, and when each is due.

Step lists and deadlines come from the policy pack (`procedure.*` parameters), so a county can drop a
step (安丘 removed 公示 at review after delegating approval to townships) or change a deadline without
code changes. Working days follow the State Council calendar (doudi.core.calendar).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from doudi.core.calendar import WorkCalendar
from doudi.core.dates import next_month, shift_months
from doudi.policy.params import Pack, load_pack

__all__ = ["add_months", "next_month"]


def add_months(first_of_month: date, months: int) -> date:
    """A month start shifted by whole months."""
    return shift_months(first_of_month, months)

STEP_LABELS: dict[str, str] = {
    "accept": "受理",
    "investigation_start": "启动家庭经济状况调查",
    "home_visit": "入户调查",
    "verification": "信息核对",
    "first_review": "初审",
    "publicity": "公示",
    "democratic_review": "民主评议",
    "county_visit": "县级入户核查",
    "confirmation": "审核确认",
    "collective_decision": "一事一议",
    "spot_check": "县级抽查",
    "decision": "决定与告知",
    "emergency_grant": "先行救助审批",
    "payment": "救助金发放",
    "termination_publicity": "终止公示",
}

# What a finished step's outcome says, as the step table and the exports show it.
OUTCOME_LABELS: dict[str, str] = {
    "accepted": "已受理", "started": "已启动", "visited": "已入户", "consistent": "与申报一致",
    "discrepancy": "存在差异", "no_record": "无记录", "reviewed": "已提出意见", "confirmed": "已审核确认",
    "approve": "同意", "reject": "不同意", "granted": "已批准", "issued": "已决定并告知", "paid": "已发放",
    "paid_late": "已发放（超时）", "no_objection": "公示无异议", "objection": "公示有异议", "upheld": "维持",
    "overturned": "纠正", "skipped": "跳过", "withdrawn": "已撤回",
}

# Canonical order; a case's steps are the union of its programs' step lists, in this order.
ORDER = list(STEP_LABELS)


@dataclass(frozen=True)
class Rules:
    """The procedure parameters in force for one area on one date (read from the policy pack)."""

    steps: dict[str, list[str]]  # program -> step keys
    delegated: bool
    investigation_start_workdays: int
    verification_start_workdays: int
    min_investigators: int
    publicity_days: int
    county_review_workdays: int
    rejection_notice_workdays: int
    total_workdays: int
    total_workdays_delegated: int
    total_workdays_max: int
    ep_investigation_workdays: int
    ep_county_decision_workdays: int
    spot_check_share: float
    separation_of_duties: bool
    separation_acceptance: bool  # the user who accepted a case cannot confirm it
    separation_payment: bool  # the user who approved a temporary grant cannot pay it
    near_due_workdays: int
    min_review_participants: int
    termination_publicity_days: int
    emergency_payment_hours: int
    gradual_exit_max_months: int
    review_stable_months: int
    override_level: str  # the lowest level that may approve a program the engine finds ineligible
    pack_version: str = ""

    def total(self, delegated: bool) -> int:
        """Working days allowed for the whole case (审核确认办法 Art. 22; 2022 通知 四(一))."""
        return self.total_workdays_delegated if delegated else self.total_workdays


PARAM_KEYS: dict[str, str] = {
    "delegated": "procedure.delegated",
    "investigation_start_workdays": "procedure.investigation_start_workdays",
    "verification_start_workdays": "procedure.verification_start_workdays",
    "min_investigators": "procedure.min_investigators",
    "publicity_days": "procedure.publicity_days",
    "county_review_workdays": "procedure.county_review_workdays",
    "rejection_notice_workdays": "procedure.rejection_notice_workdays",
    "total_workdays": "procedure.total_workdays",
    "total_workdays_delegated": "procedure.total_workdays_delegated",
    "total_workdays_max": "procedure.total_workdays_max",
    "ep_investigation_workdays": "procedure.extreme_poverty.investigation_workdays",
    "ep_county_decision_workdays": "procedure.extreme_poverty.county_decision_workdays",
    "spot_check_share": "procedure.extreme_poverty.spot_check_share",
    "separation_of_duties": "procedure.separation_of_duties",
    "separation_acceptance": "procedure.separation.acceptance_confirmation",
    "separation_payment": "procedure.separation.grant_payment",
    "near_due_workdays": "procedure.near_due_workdays",
    "min_review_participants": "procedure.min_review_participants",
    "termination_publicity_days": "procedure.termination_publicity_days",
    "emergency_payment_hours": "temporary_assistance.emergency_deadline_hours",
    "gradual_exit_max_months": "dibao.gradual_exit.months",
    "review_stable_months": "dibao.review.stable_months",
    "override_level": "procedure.override_level",
}
PROGRAM_STEP_PREFIX = "procedure.steps."


def rules_for(area_code: str, on: date) -> Rules:
    """Read the procedure parameters for an area and date from its policy pack."""
    return _rules_for(load_pack(area_code), on)


@lru_cache(maxsize=1024)
def _rules_for(pack: Pack, on: date) -> Rules:
    # Once per pack version and date: an edited pack file is a new Pack object (params.load_pack).
    values: dict[str, Any] = {field: pack.value(key, on=on) for field, key in PARAM_KEYS.items()}
    snapshot = pack.at(on)
    steps = {k.removeprefix(PROGRAM_STEP_PREFIX): list(v) for k, v in snapshot.items()
             if k.startswith(PROGRAM_STEP_PREFIX)}
    return Rules(steps=steps, pack_version=pack.version, **values)


@dataclass
class PlannedStep:
    """A step to create for a case, with its level and deadline basis."""

    key: str
    level: str
    basis: str
    due_on: date | None = None
    due_at: datetime | None = None


def plan(programs: list[str], *, rules: Rules, kind: str, delegated: bool, close_relative: bool,
         approval_level: str | None = None) -> list[PlannedStep]:
    """The steps a new case needs, in order (due dates are set as steps become active)."""
    if kind == "emergency":
        keys = ["accept", "emergency_grant", "payment"]
    else:
        wanted: set[str] = set()
        for program in programs:
            wanted.update(rules.steps.get(program, rules.steps.get("default", [])))
        if close_relative:
            wanted.add("county_visit")  # Art. 20 ¶2: the county visits registered close-relative cases itself
        if approval_level == "case_by_case":
            wanted.add("collective_decision")
        if "extreme_poverty" not in programs:
            wanted.discard("spot_check")
        keys = [k for k in ORDER if k in wanted]
        if not delegated and "spot_check" in keys and "confirmation" in keys:
            # When the county itself confirms, it spot-checks before giving its opinion (Art. 16).
            keys.remove("spot_check")
            keys.insert(keys.index("confirmation"), "spot_check")
    confirm_level = "township" if delegated else "county"
    if approval_level in {"county", "case_by_case"}:
        confirm_level = "county"
    levels = {"verification": "county", "county_visit": "county", "spot_check": "county",
              "confirmation": confirm_level, "decision": confirm_level, "collective_decision": "county"}
    return [PlannedStep(k, levels.get(k, "township"), basis(k, rules, programs)) for k in keys]


BASIS = {
    "investigation_start": "审核确认办法第十五条：受理之日起{r.investigation_start_workdays}个工作日内启动调查",
    "home_visit": "审核确认办法第十六条：每组调查人员不少于{r.min_investigators}人",
    "home_visit/ep": "特困人员认定办法第十三条：受理之日起{r.ep_investigation_workdays}个工作日内调查并提出初审意见",
    "verification": "审核确认办法第十七条：收到提请后{r.verification_start_workdays}个工作日内启动核对",
    "publicity": "审核确认办法第十九条：公示期{r.publicity_days}天",
    "confirmation": "审核确认办法第二十条：收到材料后{r.county_review_workdays}个工作日内提出审核确认意见",
    "confirmation/ep": "特困人员认定办法第十六条：{r.ep_county_decision_workdays}个工作日内提出确认意见",
    "spot_check": "特困人员认定办法第十六条：按不低于{r.spot_check_share:.0%}的比例随机抽查",
    "decision": "审核确认办法第二十一条：不予确认的，{r.rejection_notice_workdays}个工作日内书面告知并说明理由",
    "emergency_grant": "临时救助意见二(二)：急难型先行救助，事后补齐手续",
    "payment": "急难型临时救助应于受理后{r.emergency_payment_hours}小时内发放",
}


def basis(step: str, rules: Rules, programs: list[str]) -> str:
    """The article behind a step's deadline, with the figures in force."""
    key = f"{step}/ep" if "extreme_poverty" in programs and f"{step}/ep" in BASIS else step
    return BASIS.get(key, "").format(r=rules)


def due_for(step: str, *, activated: date, accepted: date, case_due: date, rules: Rules, calendar: WorkCalendar,
            programs: list[str], now: datetime | None = None) -> tuple[date | None, datetime | None]:
    """When a step that becomes active on `activated` is due (a date, or an hour-level time)."""
    if step == "investigation_start":
        return calendar.add_workdays(accepted, rules.investigation_start_workdays), None
    if step in {"home_visit", "first_review"} and "extreme_poverty" in programs:
        # 特困人员认定办法第十三条: investigation and first-review opinion within 15 working days of acceptance.
        return calendar.add_workdays(accepted, rules.ep_investigation_workdays), None
    if step == "verification":
        return calendar.add_workdays(activated, rules.verification_start_workdays), None
    if step in {"publicity", "termination_publicity"}:
        days = rules.publicity_days if step == "publicity" else rules.termination_publicity_days
        return activated + timedelta(days=days), None
    if step == "confirmation":
        if "extreme_poverty" in programs:  # 特困人员认定办法第十六条: the county decides within 15 working days
            return calendar.add_workdays(activated, rules.ep_county_decision_workdays), None
        return min(case_due, calendar.add_workdays(activated, rules.county_review_workdays)), None
    if step == "payment":
        start = now or datetime.now(UTC)
        return None, start + timedelta(hours=rules.emergency_payment_hours)
    if step == "emergency_grant":
        start = now or datetime.now(UTC)
        return None, start + timedelta(hours=rules.emergency_payment_hours)
    return case_due, None


def case_due(programs: list[str], *, accepted: date, delegated: bool, rules: Rules, calendar: WorkCalendar) -> date:
    """The whole case's deadline: 审核确认办法 Art. 22 (30 working days, 20 when delegated); a 特困 case also
    gets the stages of 特困人员认定办法 Arts. 13, 15 and 16 (15 working days, 7 days of 公示, 15 working days)."""
    due = calendar.add_workdays(accepted, rules.total(delegated))
    if "extreme_poverty" in programs:
        investigated = calendar.add_workdays(accepted, rules.ep_investigation_workdays)
        publicized = investigated + timedelta(days=rules.publicity_days)
        due = max(due, calendar.add_workdays(publicized, rules.ep_county_decision_workdays))
    return due
