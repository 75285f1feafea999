"""Chinese words of the fund's codes, and amounts in yuan."""

from __future__ import annotations

from doudi.charity.fund.models import ClaimStatus, GrantStatus, MovementKind, PolicyStatus, Purpose

PURPOSE_LABELS: dict[str, str] = {
    Purpose.GENERAL: "非定向（通用）", Purpose.ONE_OFF_AID: "一次性救助", Purpose.INSURANCE: "补充保险",
                  Purpose.ACCESSIBILITY: "无障碍改造", Purpose.MEDICAL: "医疗救助", Purpose.EDUCATION: "助学"}
GRANT_LABELS: dict[str, str] = {
    GrantStatus.PENDING: "待审批", GrantStatus.APPROVED: "已批准", GrantStatus.REJECTED: "未批准"}
KIND_LABELS: dict[str, str] = {MovementKind.DONATION: "捐赠收入", MovementKind.GRANT: "救助支出"}
POLICY_LABELS: dict[str, str] = {
    PolicyStatus.DRAFT: "待缴费", PolicyStatus.PAID: "已缴费", PolicyStatus.CLOSED: "已到期"}
CLAIM_LABELS: dict[str, str] = {
    ClaimStatus.FILED: "已报案", ClaimStatus.PAID: "已理赔", ClaimStatus.REFUSED: "拒赔"}
DONOR_LABELS: dict[str, str] = {"person": "个人", "company": "单位", "anonymous": "匿名"}
# The names of the fields the fund's audit entries record.
FIELDS: dict[str, str] = {
    "receipt_no": "票据号", "amount": "金额", "purpose": "用途", "restricted": "定向", "pool": "资金来源",
    "balance": "余额", "need_id": "需求编号", "policy_id": "保单编号", "grant_id": "拨付编号", "insurer": "承保机构",
    "premium": "人均保费", "added": "新增人数", "members": "参保人数", "programs": "救助类别", "rows": "行数",
    "unmasked": "含完整身份证号", "claim_no": "报案号", "claimed": "申请金额", "paid": "赔付金额",
    "policy_no": "保单号",
}
CODES = (PURPOSE_LABELS, GRANT_LABELS, KIND_LABELS, POLICY_LABELS, CLAIM_LABELS, DONOR_LABELS, FIELDS)
WORDS: dict[str, str] = {str(k): v for d in CODES for k, v in d.items()}


def yuan(fen: int | None) -> str:
    """Integer fen as yuan with two decimals (negative amounts keep their sign)."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def parse_fen(text: str | int) -> int:
    """An amount in yuan as typed (at most two decimals) to integer fen; ValueError when it is not one."""
    from decimal import Decimal, InvalidOperation

    try:
        d = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation:
        raise ValueError(text) from None
    if d != d.quantize(Decimal("0.01")) or not d.is_finite():
        raise ValueError(text)
    return int(d * 100)


PROGRAM_LABELS: dict[str, str] = {
    "dibao": "最低生活保障", "extreme_poverty": "特困人员供养", "dibao_marginal": "低保边缘"}


def program_label(program: str) -> str:
    """A program's Chinese name."""
    return PROGRAM_LABELS.get(program, program)
