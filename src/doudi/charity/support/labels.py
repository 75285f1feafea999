"""Chinese words of the support codes."""

from __future__ import annotations

from doudi.charity.support.models import GoalArea, GoalStatus, ItemStatus, PairingStatus, PlanStatus, ReferralStatus

PLAN_LABELS: dict[str, str] = {PlanStatus.OPEN: "帮扶中", PlanStatus.CLOSED: "已结案"}
GOAL_AREA_LABELS: dict[str, str] = {
    GoalArea.INCOME: "增加收入", GoalArea.HEALTH: "健康", GoalArea.EDUCATION: "教育",
                    GoalArea.EMPLOYMENT: "就业"}
GOAL_LABELS: dict[str, str] = {
    GoalStatus.OPEN: "推进中", GoalStatus.MET: "已达成", GoalStatus.NOT_MET: "未达成"}
TRAINING_LABELS: dict[str, str] = {
    ReferralStatus.REFERRED: "已转介", ReferralStatus.TRAINED: "已完成培训",
                   ReferralStatus.EMPLOYED: "已就业", ReferralStatus.NOT_EMPLOYED: "未就业"}
PAIRING_LABELS: dict[str, str] = {PairingStatus.ACTIVE: "履约中", PairingStatus.ENDED: "已到期"}
ITEM_LABELS: dict[str, str] = {ItemStatus.PLEDGED: "待兑现", ItemStatus.DELIVERED: "已兑现"}
ITEM_KIND_LABELS: dict[str, str] = {
    "cash": "现金", "goods": "物资", "service": "服务", "job": "就业岗位"}
# The names of the fields the support audit entries record.
FIELDS: dict[str, str] = {
    "worker": "社工", "goals": "帮扶目标", "visited_on": "走访日期", "visitor": "走访人", "plan_id": "帮扶计划编号",
    "course": "培训项目", "employer": "用工单位", "warning_id": "预警编号", "closure": "结案原因",
    "partner_key": "合作方编号", "items": "事项数", "period": "帮扶期", "delivered_on": "兑现日期", "value": "价值",
}
CODES = (PLAN_LABELS, GOAL_AREA_LABELS, GOAL_LABELS, TRAINING_LABELS, PAIRING_LABELS, ITEM_LABELS, ITEM_KIND_LABELS,
         FIELDS)
WORDS: dict[str, str] = {str(k): v for d in CODES for k, v in d.items()}
