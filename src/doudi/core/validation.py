"""Pydantic's validation errors as the platform's field errors, in Chinese."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ValidationError

from doudi.core.errors import FieldError, ValidationFailed

# Pydantic error types → what a person reads; anything else keeps a generic message.
MESSAGES = {
    "missing": "必填",
    "decimal_parsing": "金额格式不正确", "decimal_type": "金额格式不正确", "finite_number": "金额格式不正确",
    "int_parsing": "应为整数", "int_type": "应为整数", "int_from_float": "应为整数",
    "float_parsing": "应为数字", "float_type": "应为数字",
    "date_parsing": "应为 YYYY-MM-DD 日期", "date_from_datetime_parsing": "应为 YYYY-MM-DD 日期",
    "date_type": "应为 YYYY-MM-DD 日期", "datetime_parsing": "应为日期时间",
    "datetime_from_date_parsing": "应为日期时间",
    "bool_parsing": "应为 是/否", "bool_type": "应为 是/否",
    "string_type": "应为文字", "string_too_short": "内容过短", "string_too_long": "内容过长",
    "list_type": "应为列表", "dict_type": "格式不正确", "model_type": "格式不正确",
    "model_attributes_type": "格式不正确", "literal_error": "取值不在允许范围内", "enum": "取值不在允许范围内",
    "extra_forbidden": "不是本表单的字段", "missing_argument": "必填", "json_invalid": "格式不正确",
    "greater_than": "数值过小", "greater_than_equal": "数值过小",
    "less_than": "数值过大", "less_than_equal": "数值过大",
}
_SKIP = {"body", "query", "path", "form"}

# Field names (identifiers in the API) as a person reads them on a page.
FIELD_LABELS = {
    "incremental": "增量比对", "double_registrations": "疑似重复登记", "double_registration_review": "重复登记复核单",
    "next_review_on": "应复核日期", "probable_same_person_in": "疑似同一人所在家庭",
    "account_no": "账号", "address": "地址", "amount": "金额", "applicant_id_number": "申请人身份证号",
    "applicant_name": "申请人姓名", "applicant_phone": "联系电话", "area": "区划", "area_code": "区划",
    "assessed_on": "评估日期", "assessor": "评估人", "assets": "财产", "at": "时间", "authorised": "核对授权",
    "authorised_all": "核对授权", "bank_name": "开户银行", "birth_date": "出生日期", "business": "经营收入",
    "caregiver_id": "护理员", "case": "案件", "case_id": "案件", "channel": "申请方式", "child_status": "儿童类别",
    "close_relative_note": "近亲属关系说明", "close_relative": "近亲属备案", "code": "验证码",
    "conclusion": "核对结论", "content": "内容",
    "contract_to": "协议截止日期", "date_from": "起始日期", "date_to": "截止日期", "day": "日期",
    "decision": "意见", "decisions": "决定", "disability_category": "残疾类别", "disability_grade": "残疾等级",
    "disposition": "处置", "document_ref": "文书编号", "emergency": "重大突发事件", "end": "结束时间",
    "evidence": "佐证", "fact": "数据", "file": "文件", "financial_assets": "金融资产", "findings": "调查结论",
    "format": "格式", "header": "表头", "holder_name": "户名", "hours": "时长", "household_id": "家庭",
    "household_no": "户编号", "hukou_type": "户口类型", "id_number": "身份证号", "investigator_ids": "调查人员",
    "investigators": "调查人员", "key": "编码", "kind": "类型", "latitude": "纬度", "longitude": "经度",
    "meeting_on": "会议日期",
    "members": "家庭成员", "mode": "方式", "month": "月份", "monthly_amount": "月救助金额",
    "monthly_income": "月收入", "months": "月数", "name": "姓名", "new_amount": "新金额", "note": "说明",
    "old_head_relation": "原户主关系", "on": "日期", "opinions": "意见", "org": "所属机构", "outcome": "结果",
    "override_reason": "与测算不一致的批准理由", "participants": "参加人员", "password": "密码",
    "payee_key": "收款人", "person_id": "人员", "phone": "电话", "program": "救助项目", "programs": "救助项目",
    "provider_id": "服务机构", "proxy_name": "代办人", "proxy_relation": "代办人关系", "reason": "理由",
    "reasons": "理由", "relation": "与户主关系", "resolution": "处理方式", "result": "结果", "revision": "版本",
    "role": "角色", "roll": "名册", "satisfaction": "满意度", "scope": "范围", "service": "服务项目",
    "services": "服务项目", "services_done": "已完成服务", "sex": "性别", "signed_by_name": "签字人",
    "signed_by_relation": "签字人关系", "signed_on": "签署日期", "source": "数据来源", "start": "开始时间",
    "supersedes": "替代", "supervisor": "上级", "target_key": "对象", "target_kind": "对象类型",
    "temporary_need": "临时救助", "townships": "乡镇", "transfer": "转移性收入", "trigger": "触发",
    "user": "用户", "username": "用户名", "version": "版本", "visit_id": "服务记录", "visit_on": "调查日期",
    "wage": "工资收入", "age": "年龄", "assessed": "测算金额", "cost": "费用", "date": "日期",
    "date_of_death": "死亡日期", "died": "死亡日期", "enrolled_on": "纳入日期", "grade": "等级",
    "gradual_exit_until": "渐退至", "grants": "救助次数", "households": "户数", "issued_on": "发证日期",
    "left": "剩余", "limit": "上限", "per_capita": "人均", "registered_on": "登记日期", "standard": "标准",
    "total": "合计", "turned": "年满", "type": "类型", "updated_on": "更新日期", "use": "用途",
    "hukou_status": "户籍状态", "status": "状态", "extreme_poverty_and_dibao": "特困与低保同时享受",
    "planned_visit_on": "计划入户日期", "who": "操作人", "page": "页码", "rule": "规则", "level": "级别",
    "township": "乡镇（街道）", "overdue": "超时", "q": "关键词", "filters": "筛选条件", "message": "说明",
    "visits": "服务次数", "missed": "未到次数", "persons": "人数", "provider_key": "服务机构", "provider": "服务机构",
    "amount_fen": "金额（分）", "paid_minutes": "计费分钟", "unpaid_visits": "未结算次数", "due_on": "到期日",
    "effective_month": "生效月份", "problems": "问题数", "count": "数量", "rows": "行数", "batch": "批次",
    "batch_id": "批次", "rows_ok": "接收行数", "rows_rejected": "隔离行数", "purpose": "用途", "changes": "变更",
    "before": "变更前", "after": "变更后", "object_id": "对象编号", "object_type": "对象类型", "action": "操作",
    "actor": "操作人", "id": "编号", "kind_label": "类别", "monthly": "每月",
    "hourly_rate": "小时单价", "self_care_unable_items": "生活不能自理项数",
    "items": "项目",
    "answered": "已答复", "batches": "批次", "candidates": "候选", "case_no": "案件编号", "delegated": "下放乡镇",
    "duplicate": "重复", "duplicates": "重复", "facts_added": "新增数据", "failed": "失败", "files": "文件数",
    "first": "首次", "held_duplicates": "暂缓的重复发放", "households_new": "新增家庭",
    "households_updated": "更新家庭",
    "invalid": "无效", "lines": "明细行数", "memberships_closed": "结束的成员关系", "memberships_new": "新增成员关系",
    "new": "新增", "no_record": "无记录", "paid": "已发放", "period": "期间", "persons_new": "新增人员",
    "persons_updated": "更新人员", "probabilistic_rows": "概率匹配行数", "reissued": "补发", "rejected": "隔离",
    "requested_on": "发起日期", "review_identities": "待复核身份", "roles": "角色", "rows_total": "总行数",
    "sha256": "文件指纹", "start_unknown": "起始日期不详", "statuses": "状态", "superseded": "被替代",
    "target": "转介部门", "unable_items": "不能自理项目", "unchanged": "未变化", "unmatched": "未匹配",
    "unmatched_rows": "未匹配行数", "updated": "更新",
    "from": "起", "to": "止",
    "report": "报告", "overrides": "与测算不一致的批准", "level_label": "审批层级",
    # program keys inside opinions.<program>
    "dibao": "最低生活保障", "dibao_marginal": "低保边缘家庭", "extreme_poverty": "特困人员救助供养",
    "rigid_expense_hardship": "刚性支出困难家庭", "temporary_assistance": "临时救助",
    "child_welfare": "孤儿及困境儿童基本生活保障", "disability_subsidies": "残疾人两项补贴",
    "relative_poverty": "相对贫困人口帮扶",
}


def field_label(path: str) -> str:
    """A dotted field path as a person reads it: members.0.id_number → 家庭成员第1项·身份证号."""
    out: list[str] = []
    for part in str(path).split("."):
        if not part:
            continue
        if part.isdigit():
            out[-1:] = [f"{out[-1] if out else ''}第{int(part) + 1}项"]
        else:
            out.append(FIELD_LABELS.get(part, part))
    return "·".join(out)


def message_of(error: Mapping[str, Any]) -> str:
    """The Chinese message of one Pydantic error (a validator's own message is kept, it is already Chinese)."""
    if error.get("type") == "value_error":
        return str(error.get("ctx", {}).get("error", error.get("msg", "格式不正确")))
    return MESSAGES.get(str(error.get("type")), "格式不正确")


def field_errors(errors: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    """Field errors named by their dotted path (without FastAPI's body/query prefix)."""
    return [FieldError(".".join(str(p) for p in e["loc"] if p not in _SKIP), message_of(e)) for e in errors]


def from_pydantic(exc: ValidationError) -> ValidationFailed:
    """A model's validation error as ValidationFailed."""
    return ValidationFailed(field_errors(exc.errors()))


# Bounds of identifiers and page numbers in the API: what both databases store (PostgreSQL's INTEGER), so a
# larger number is a 422 naming the field, never a database error.
MAX_ID = 2_147_483_647
MAX_PAGE = 100_000
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="编号")]


class ErrorItem(BaseModel):
    """One problem with one field (or one row and field of a file)."""

    field: str
    message: str
    row: int | None = None


class ErrorOut(BaseModel):
    """The one error body of the API: a Chinese message and, for bad input, every field error."""

    detail: str
    errors: list[ErrorItem] | None = None


# Documented on every API operation (the handlers in main.py answer with ErrorOut for each of them).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text} for status, text in {
        400: "请求无法处理", 401: "未认证或令牌已失效", 403: "无权执行此操作", 404: "未找到，或不在管辖范围内",
        409: "记录已被他人修改，或操作已完成", 422: "输入有误（逐项列出）", 503: "系统繁忙，请稍后重试"}.items()}
