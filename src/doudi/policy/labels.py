"""Chinese names of policy-pack parameters, built from the parts of their keys.

A parameter key (`dibao.income.averaging_months`) is the identifier packs and commands use; a person reads
"最低生活保障·收入·收入核算月数". Each part of a key has one Chinese name here; a key with a part missing
falls back to the key itself (tests/policy/test_labels.py checks every key of every pack has a name).
"""

from __future__ import annotations

PARTS: dict[str, str] = {
    "double_payer": "多头救助（一项需求两个支付方）", "same_need": "同一需求项目", "grant_kinds": "临时救助类型",
    "rising_expense": "刚性支出上升", "compare_months": "比较月数",
    "insurance": "补充保险", "programs": "项目", "premium_per_person": "人均保费",
    "pairing": "签约帮扶", "overdue_days": "逾期天数", "support": "社工帮扶", "visit_interval_days": "走访间隔天数",
    "separation": "不相容岗位分离", "acceptance_confirmation": "受理与审核确认", "grant_payment": "审批与发放",
    "acceptance": "受理", "confirmation": "审核确认", "grant": "审批", "payment": "发放",
    "account_change_flag_days": "账户变更预警天数", "adult": "成年", "age": "年龄", "age_transition": "年龄过渡",
    "allowance": "基本生活费", "amount": "金额", "amount_rate": "金额比例", "approval": "审批",
    "assessment_change": "评估等级变化", "averaging_months": "收入核算月数", "back_pay_max_months": "补发最长月数",
    "bank_balance": "银行余额", "bank_file": "银行代发文件", "basic_multiplier": "基本倍数", "domestic": "代发格式",
    "basic_standard": "基本标准", "benefit": "待遇", "business": "市场主体", "calendar": "工作日历",
    "care": "护理", "care_hours": "照料时长", "care_reassessment": "照料复评", "care_standard": "照料护理标准",
    "case_by_case": "一事一议", "child_welfare": "儿童福利", "choice_child": "择一享受（儿童）",
    "combine": "叠加方式", "continue_in_school": "在校延续", "continue_to_age": "延续至年龄",
    "counted_kinds": "计入项目", "county_cap_months": "县级审批上限月数",
    "county_decision_workdays": "县级决定工作日", "county_review_workdays": "县级审核工作日",
    "cover_raise": "提高比例", "cpi_yoy": "居民消费价格指数同比涨幅", "criteria": "认定条件",
    "de_facto": "事实无人抚养", "de_facto_definition": "事实无人抚养认定", "de_facto_offset": "事实无人抚养抵扣",
    "de_facto_unsupported": "事实无人抚养儿童", "deadline": "时限", "deadline_day": "截止日",
    "death": "死亡", "death_recheck_months": "死亡复核月数", "default": "默认", "definition": "认定",
    "delegated": "下放乡镇", "dibao": "最低生活保障", "dibao_marginal": "低保边缘家庭",
    "dibao_min_age": "低保最低年龄", "disability": "残疾", "disability_max_grade": "残疾等级上限",
    "disability_subsidies": "残疾人两项补贴", "disposable_income": "人均可支配收入", "duplicate": "重复",
    "elderly": "老年人", "elderly_min_age": "老年人起始年龄", "eligibility": "资格", "emergency": "急难型",
    "emergency_deadline_hours": "急难救助时限（小时）", "employment_cost_deduction": "就业成本扣减",
    "enabled": "启用", "excluded": "不计入", "exempt_types": "豁免类型", "exit_suspended": "渐退期暂停",
    "expenditure": "支出型", "expense_share": "支出占比", "expenses": "支出", "extreme_poverty": "特困人员救助供养",
    "financial_assets_months": "金融资产限额月数", "fixed_holidays": "固定日期法定节假日",
    "food_cpi_yoy": "食品价格指数同比涨幅", "former_poor_extension": "原建档立卡延续", "full": "完全丧失",
    "full_min_unable": "完全丧失最少不能项", "grade1": "一级", "grade2": "二级", "gradual_exit": "渐退",
    "groups": "人群", "hardship": "困难", "home_care": "居家照料", "hourly_rate": "小时单价",
    "household": "家庭", "hukou_cancelled": "户籍注销", "identification": "认定",
    "impute_idle_at_minimum_wage": "有劳动能力未就业按最低工资计算", "include_marginal": "包含低保边缘",
    "income": "收入", "income_line": "收入线", "income_multiple": "收入倍数", "income_rise": "收入增长",
    "income_share": "收入占比", "income_tolerance_ratio": "收入容差比例", "income_tolerance_yuan": "收入容差金额",
    "increment": "分类施保增发", "indicators": "指标", "interval_months": "间隔月数",
    "investigation_start_workdays": "启动调查工作日", "investigation_workdays": "调查工作日",
    "jobless_severe_disabled": "未就业重度残疾人", "key_hardship": "重点困境儿童", "kinds": "种类",
    "livelihood": "生计", "living": "生活", "living_expense_standard_months": "生活费标准月数",
    "lookback_months": "回溯月数", "max_business_registrations": "市场主体登记上限",
    "max_distance_m": "最大距离（米）", "max_grade": "最高等级", "max_minutes": "最长分钟",
    "max_non_residential": "非住房不动产上限", "max_refusals": "拒绝就业次数上限",
    "max_residential": "住房上限", "max_temporary_grants": "临时救助次数上限",
    "max_transactions": "交易笔数上限", "max_vehicles": "机动车上限", "medical": "医疗",
    "medical_cost": "医疗费用", "medical_min_yuan": "医疗支出起点", "members": "成员", "method": "计算方法",
    "min_investigators": "最少调查人数", "min_minutes": "最短分钟", "min_review_participants": "评议最少人数",
    "min_yuan": "最低金额", "minutes_rounding": "分钟取整", "minimum": "最低", "minimum_wage": "最低工资",
    "minor": "未成年人",
    "minor_age": "未成年年龄", "minors_continue": "未成年人延续", "missed": "漏服务",
    "monitoring": "监测预警", "months": "月数", "multi_agency": "多部门", "multidimensional": "多维",
    "near_due_workdays": "临期提醒工作日", "new_employment": "新就业", "no_labour": "无劳动能力",
    "no_visit_alert_days": "未走访预警天数", "notice_days": "告知天数", "orphan": "孤儿",
    "orphan_community": "社会散居孤儿", "orphan_institution": "机构养育孤儿", "override_level": "不一致审批层级",
    "own_share_cut": "本人份额扣减", "paid_programs": "发放项目", "paperwork_workdays": "补办手续工作日",
    "parent_disability_max_grade": "父母残疾等级上限", "partial": "部分丧失",
    "partial_min_unable": "部分丧失最少不能项", "pass_score": "合格分数", "payments": "资金发放",
    "plan": "计划", "price_subsidy": "价格临时补贴", "procedure": "办理程序", "property": "财产",
    "provincial": "省级", "publicity_days": "公示天数", "real_estate": "不动产",
    "reassessment": "复评", "reassessment_workdays": "复评工作日", "referral": "转介", "refs": "依据",
    "charity": "慈善衔接", "partner": "合作机构", "response_workdays": "答复工作日",
    "rejection_notice_workdays": "不予批准告知工作日", "relative_poverty": "相对贫困人口帮扶",
    "reserve": "备用金", "review": "复核", "review_overdue": "复核逾期",
    "rigid_expense_deduction_share": "刚性支出扣减比例", "rigid_expense_hardship": "刚性支出困难家庭",
    "rigid_expenses": "刚性支出", "roll_window": "名册期间", "rules": "规则", "rural": "农村",
    "school_enrolment": "在学", "self_care": "生活自理", "separation_of_duties": "职责分离",
    "serious_illness": "重病", "severe_disability": "重度残疾", "severe_max_grade": "重度残疾等级上限",
    "single_limit": "单次上限", "single_person": "单人户", "spot_check_share": "抽查比例",
    "stable_months": "稳定月数", "stages": "阶段", "standard": "标准", "statistics": "统计数据",
    "steps": "环节", "support_mode": "供养方式", "supporter_lost": "抚养人失联", "supporter_unable": "抚养人无力",
    "supporters": "赡养（抚养、扶养）义务人", "temporary_assistance": "临时救助",
    "termination_publicity_days": "终止公示天数", "thresholds": "阈值", "tiers": "分档", "total_workdays": "总工作日",
    "total_workdays_delegated": "下放后总工作日", "total_workdays_max": "总工作日上限",
    "township_limit": "乡镇审批限额", "trigger": "触发条件", "uncounted_relations": "不计入的关系",
    "unemployment": "失业", "unstable_months": "不稳定月数", "urban": "城镇", "valid_months": "有效月数",
    "validity": "有效期", "vehicle": "机动车", "verification": "信息核对",
    "verification_start_workdays": "发起核对工作日", "visit_minutes": "服务分钟", "window_days": "期间天数",
    "window_months": "期间月数", "work_refusal": "拒绝就业", "workdays": "工作日", "working_age": "劳动年龄",
    "working_age_from": "劳动年龄起", "working_age_to": "劳动年龄止", "years": "年数",
}


def parameter_label(key: str) -> str:
    """The Chinese name of a parameter: 最低生活保障·收入·收入核算月数."""
    parts = key.split(".")
    if all(p in PARTS for p in parts):
        return "·".join(PARTS[p] for p in parts)
    return key
