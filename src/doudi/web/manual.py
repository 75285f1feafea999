"""使用手册: the console's user manual, one page for every signed-in user — what each role does and where, what
the deadlines and counts mean, and the columns of every import with its template."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from doudi.auth.permissions import ROLES, role_labels
from doudi.caseload import importer as enrollments
from doudi.caseload.templates import KINDS, columns
from doudi.deps import PageActor
from doudi.registry import facts_import
from doudi.registry.import_read import REQUIRED as HOUSEHOLD_REQUIRED
from doudi.web.nav import NavItem, register
from doudi.web.render import render

router = APIRouter(include_in_schema=False)
register(NavItem("使用手册", "/help", None))

# What each role does in the console, and where (the menu entries it sees).
JOBS: dict[str, tuple[str, str]] = {
    "village_assistant": ("协助登记申请、入户调查，查看本村案件与家庭档案。", "救助案件、家庭档案"),
    "township_caseworker": ("登记与受理申请，启动调查、入户调查、初审，发起信息核对，管理在保对象与监测预警。",
                            "待办事项、救助案件、家庭档案、导入档案"),
    "township_approver": ("对下放乡镇审批的案件作出审核确认意见，审批保障变更。", "待办事项、救助案件、在保对象"),
    "county_officer": ("县级审核确认、抽查、督办超时事项、政策模拟、资金发放与照料服务管理。",
                       "待办事项、救助案件、政策模拟、资金发放"),
    "verification_officer": ("导入部门数据、出具核对报告、人工复核比对结果。", "部门数据批次、核对请求"),
    "care_provider": ("登记居家照料服务记录，处理反馈。", "照料服务"),
    "agency_liaison": ("报送本部门数据，答复转介。", "部门数据批次、转介"),
    "auditor": ("查询与导出审计日志，校验日志未被篡改。", "审计日志"),
    "admin": ("管理用户与行政区划、批量导入、数据备份。", "用户管理、行政区划、导入台账、数据备份"),
}


def _required(kind: str) -> set[str]:
    if kind == "households":
        return set(HOUSEHOLD_REQUIRED)
    if kind in facts_import.FACT_COLUMNS:
        return set(facts_import.FACT_COLUMNS[kind][0])
    if kind == "enrollments":
        return set(enrollments.REQUIRED)
    return {"code", "name"}


@router.get("/help")
def manual(request: Request, actor: PageActor) -> Response:
    """The user manual."""
    imports = [(kind, title, [(label, key in _required(kind)) for key, label in columns(kind)])
               for kind, title in {**KINDS}.items()]
    roles = [(role_labels()[r], *JOBS[r]) for r in ROLES if r in JOBS]
    return render(request, "manual.html", {"imports": imports, "roles": roles,
                                           "mine": [role_labels().get(r, r) for r in sorted(actor.roles)]})
