"""Chinese words for the monitoring states, levels, dispositions and referral targets."""

from __future__ import annotations

STATUS = {"new": "新预警", "assigned": "已分派", "verifying": "核实中", "disposed": "已处置", "closed": "已关闭"}
LEVEL = {"red": "红色", "orange": "橙色", "yellow": "黄色"}
DISPOSITION = {"no_action": "无需处置", "review": "启动复核", "application": "启动救助申请",
               "suspend": "暂停发放待核实", "refer": "转办相关部门"}
REFERRAL_STATUS = {"sent": "已推送", "acknowledged": "已签收", "answered": "已办结", "withdrawn": "已撤回"}
# Agencies a referral can go to (keys are the agency's data-source key where it sends a feed).
AGENCIES = {"medical": "医保部门（医疗救助）", "school": "教育部门（教育救助）", "unemployment": "人社部门（就业救助）",
            "disability": "残联", "housing": "住建部门（住房救助）", "emergency": "应急管理部门（受灾人员救助）"}
