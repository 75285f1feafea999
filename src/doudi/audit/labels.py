"""The audit log in words: actions, object kinds, outcomes and recorded changes as a person reads them.

Entries store identifiers (`case.step.home_visit`, `{"outcome": "visited"}`) so that they stay comparable
across versions; the page and the Excel export show them through these functions."""

from __future__ import annotations

import json
from typing import Any

from doudi.core.validation import field_label

# Whole actions with a name of their own.
ACTIONS: dict[str, str] = {
    "auth.login": "登录", "auth.logout": "退出登录", "auth.denied": "越权访问被拒绝", "auth.token_revoke": "吊销令牌",
    "portal.login": "群众端登录", "portal.document": "群众端上传材料", "system.backup": "数据备份",
    "audit.verify": "校验审计日志", "audit.export": "导出审计日志", "area.import": "导入行政区划",
    "registry.import": "导入家庭档案", "registry.import_facts": "导入收入财产等数据",
    "registry.cross_area_member": "登记跨区划成员", "caseload.import_enrollments": "导入在保对象",
    "caseload.export": "导出在保对象", "feed.ingest": "导入部门数据", "feed.relink": "重新比对部门数据",
    "feed.resolve": "处理部门数据问题", "linkage.review": "人工复核比对结果",
    "verification.authorise": "登记核对授权书", "verification.process": "处理核对请求",
    "verification.report_export": "导出核对报告", "person.unmask": "查看完整身份证号",
    "fund.donation": "慈善基金·登记捐赠", "fund.grant": "慈善基金·提交拨付", "fund.approve": "慈善基金·批准拨付",
    "fund.reject": "慈善基金·不予批准拨付", "fund.policy": "补充保险·新建保单", "fund.enrol": "补充保险·生成参保名单",
    "fund.policy_paid": "补充保险·保费已拨付", "fund.insurer_file": "补充保险·导出承保名单（完整身份证号）",
    "fund.claim": "补充保险·登记理赔", "fund.claim_answer": "补充保险·登记理赔结果",
    "support.open": "社工帮扶·新建计划", "support.visit": "社工帮扶·登记走访", "support.training": "社工帮扶·转介培训",
    "support.outcome": "社工帮扶·登记培训结果", "support.exit_review": "社工帮扶·就业后提请渐退复核",
    "support.close": "社工帮扶·结案", "pairing.sign": "签约帮扶·登记协议", "pairing.deliver": "签约帮扶·登记兑现",
    "pairing.end": "签约帮扶·协议到期",
}
# The object an action is about (its first part).
OBJECTS: dict[str, str] = {
    "auth": "登录", "user": "用户", "case": "案件", "household": "家庭档案", "person": "人员", "fact": "档案数据",
    "enrollment": "在保对象", "evaluation": "政策测算", "assessment": "测算", "verification": "信息核对",
    "feed": "部门数据", "linkage": "人员比对", "monitoring": "监测预警", "referral": "转介",
    "payment": "资金发放", "payee_account": "收款账户", "reserve": "备用金", "care": "照料服务",
    "registry": "家庭档案", "caseload": "在保对象", "audit": "审计日志", "area": "行政区划", "system": "系统",
    "portal": "群众端", "targeting": "核对成效与救助精准度", "charity": "慈善衔接",
    "charity_partner": "合作机构", "charity_need": "慈善帮扶需求",
    "agency": "部门", "provider": "服务机构", "partner": "合作组织", "ingest_batch": "数据批次",
    "authorisation": "核对授权书", "notice": "告知书", "api_token": "接口令牌", "link_review": "比对复核",
    "monitoring_warning": "监测预警", "monitoring_run": "监测运行", "monitoring_export": "预警导出",
    "verification_request": "核对请求", "payment_roll": "发放名册", "payment_return": "退回资金",
    "payment_cpi": "价格指数", "reserve_entry": "备用金", "assessment_run": "测算", "export": "导出",
    "fund": "慈善救助基金", "fund_donation": "慈善捐赠", "fund_grant": "慈善基金拨付", "insurance": "补充保险",
    "insurance_policy": "补充保险保单", "insurance_claim": "补充保险理赔", "support": "社工帮扶",
    "support_plan": "帮扶计划", "support_training": "培训转介", "pairing": "签约帮扶", "pairing_item": "帮扶事项",
}
# What was done (the last part), including the steps of a case.
VERBS: dict[str, str] = {
    "create": "新建", "read": "查看", "update": "修改", "export": "导出", "add": "登记", "end": "结束",
    "close": "办结", "revert": "撤销更正", "head": "变更户主", "head_change": "变更户主", "member_add": "增加成员",
    "member_end": "成员离开", "unmask": "查看完整信息", "password": "修改密码", "unlock": "解锁",
    "submit": "提交申请", "accept": "受理", "review": "初审", "extend": "延期", "needs_info": "退回补正",
    "document": "上传材料", "document_view": "查看材料", "notice_served": "登记送达", "objection": "登记异议",
    "task_done": "办结后续事项", "suspend": "暂停发放", "run": "运行", "request": "发起", "answer": "答复",
    "view": "查看", "ingest": "导入", "dispose": "处置", "confirm": "确认", "propose": "提出",
    "bank_file": "生成银行代发文件", "cpi_import": "导入价格指数", "reconcile": "对账", "roll_approve": "审批名册",
    "roll_generate": "编制名册", "subsidy_roll": "编制价格补贴名册", "spend": "支出", "topup": "补充",
    "assess": "评估", "caregiver_add": "增加护理员", "complaint_close": "办结投诉", "demo_visits": "生成演示服务记录",
    "entitlement_end": "终止照料待遇", "feedback": "反馈", "plan": "制定照料计划", "provider_create": "新建服务机构",
    "reassessment_request": "申请复评", "recipient_assign": "分派服务对象", "settle": "结算",
    "visit_cancel": "取消服务", "visit_check_in": "服务签到", "visit_check_out": "服务签退",
    "visit_missed": "服务未到", "visit_reschedule": "改约服务", "visit_review": "审核服务记录",
    "visit_schedule": "安排服务", "accept_warning": "确认预警", "assign": "分派", "verify": "核实",
    "need_raise": "登记需求", "need_confirm": "确认推送", "need_reject": "退回推荐", "need_accept": "机构承接",
    "need_decline": "机构婉拒", "need_deliver": "登记帮扶结果", "need_close": "办结需求",
    "consent_record": "登记书面同意", "consent_withdraw": "撤回书面同意", "partner_create": "登记合作机构",
    "partner_update": "修改合作机构", "escalate": "督办",
    # case steps (case.step.<key>)
    "investigation_start": "启动调查", "home_visit": "入户调查", "verification": "信息核对",
    "first_review": "初审", "publicity": "公示", "democratic_review": "民主评议", "county_visit": "县级入户核查",
    "confirmation": "审核确认", "collective_decision": "一事一议", "spot_check": "县级抽查",
    "decision": "决定与告知", "emergency_grant": "先行救助审批", "payment": "救助金发放",
    "income": "收入", "assets": "财产", "expenses": "支出", "living": "生活状况",
}
OUTCOMES = {"ok": "成功", "denied": "拒绝", "failed": "失败"}


def action_label(action: str) -> str:
    """案件·入户调查, 登录, 在保对象·暂停发放 …; an action this table does not know stays as recorded."""
    if action in ACTIONS:
        return ACTIONS[action]
    parts = action.split(".")
    head = OBJECTS.get(parts[0])
    tail = [VERBS.get(p) for p in parts[1:] if p != "step"]
    if head is None or not tail or any(t is None for t in tail):
        return action
    return head + "·" + "·".join(t for t in tail if t)


def object_label(kind: str | None) -> str:
    """The kind of object an entry is about."""
    if not kind:
        return ""
    if kind == "route":
        return "页面"
    return OBJECTS.get(kind) or OBJECTS.get(kind.split("_")[0], kind)


def route_text(object_id: str | None) -> str:
    """A page request an entry is about: "GET /admin/areas" → 打开 /admin/areas."""
    method, _, path = str(object_id or "").partition(" ")
    verb = {"GET": "打开", "POST": "提交", "PUT": "修改", "PATCH": "修改", "DELETE": "删除"}.get(method)
    return f"{verb} {path}" if verb and path else str(object_id or "")


def outcome_label(outcome: str | None) -> str:
    """成功, 拒绝 or 失败."""
    return OUTCOMES.get(outcome or "", outcome or "")


def changes_text(changes: Any, words: Any = None) -> str:
    """Recorded changes as 字段：值；… with nested values in brief; `words(value)` names coded values."""
    if not changes:
        return ""
    if not isinstance(changes, dict):
        return str(changes)
    def name(key: Any) -> str:
        shown = field_label(str(key))
        return str(words(str(key))) if shown == str(key) and words is not None else shown

    def show(value: Any) -> str:
        if isinstance(value, bool):
            return "是" if value else "否"
        if value is None:
            return "—"
        if isinstance(value, dict):
            return "（" + "；".join(item(k, v) for k, v in value.items()) + "）"
        if isinstance(value, list | tuple):
            return "、".join(show(v) for v in value)
        if isinstance(value, str) and ":" in value and words is not None:  # kind:key, e.g. agency:social_insurance
            kind, _, key = value.partition(":")
            return f"{OBJECTS.get(kind, words(kind))}：{words(key)}"
        if isinstance(value, str) and words is not None:
            return str(words(value))
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    def item(key: Any, value: Any) -> str:
        if key == "object_type" and isinstance(value, str) and value:  # an audit filter names a kind of object
            return f"{name(key)}：{object_label(value)}"
        return f"{name(key)}：{show(value)}"

    parts: list[str] = []
    for key, value in changes.items():
        if key == "_" and isinstance(value, dict):  # what the action recorded beside its changes
            parts.extend(item(k, v) for k, v in value.items())
        elif isinstance(value, list) and len(value) == 2:  # [before, after]
            parts.append(f"{name(key)}：{show(value[0])} → {show(value[1])}")
        else:
            parts.append(f"{name(key)}：{show(value)}")
    return "；".join(parts)
