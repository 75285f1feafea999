"""Chinese words for partner kinds, offers, consent methods and the states of needs and proposals."""

from __future__ import annotations

PARTNER_KIND = {"charity": "慈善组织", "social_work": "社会工作服务机构", "company": "爱心企业",
                "community": "社区社会组织"}
OFFER = {"cash": "资金救助", "goods": "物资帮扶", "services": "生活服务", "insurance": "补充保险",
         "housing_repair": "住房改造", "training": "技能培训", "jobs": "就业岗位"}
CONSENT_METHOD = {"form": "书面同意书（上传签字件）", "portal": "本人在线确认（群众端）"}
CONSENT_STATUS = {"valid": "有效", "withdrawn": "已撤回"}
SOURCE = {"case": "救助申请", "warning": "监测预警", "lead": "主动发现线索", "refusal": "不予救助对象",
          "gap": "救助后仍有缺口"}
NEED_STATUS = {"open": "待匹配", "proposed": "已推荐", "matched": "已推送机构", "accepted": "机构已承接",
               "delivered": "已帮扶", "closed": "已办结", "declined": "机构已婉拒", "expired": "已过期",
               "escalated": "已督办"}
MATCH_STATUS = {"proposed": "推荐中", "confirmed": "已推送", "accepted": "已承接", "delivered": "已帮扶",
                "declined": "已婉拒", "withdrawn": "已撤回", "expired": "逾期未答复"}


def yuan(fen: int | None) -> str:
    """Integer fen as yuan with two decimals ('' for none)."""
    if fen is None:
        return ""
    return f"{fen // 100}.{fen % 100:02d}" if fen >= 0 else f"-{yuan(-fen)}"
