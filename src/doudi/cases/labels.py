"""Chinese names of the programs, for notices, pages, exports and the timeline."""

PROGRAM_LABELS = {
    "dibao": "最低生活保障", "dibao_marginal": "低保边缘家庭", "extreme_poverty": "特困人员救助供养",
    "rigid_expense_hardship": "刚性支出困难家庭", "temporary_assistance": "临时救助",
    "child_welfare": "孤儿及困境儿童基本生活保障", "disability_subsidies": "残疾人两项补贴",
    "relative_poverty": "相对贫困人口帮扶",
}
