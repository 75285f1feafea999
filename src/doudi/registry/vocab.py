"""Controlled vocabularies of the registry, with their Chinese labels."""

from __future__ import annotations

from enum import StrEnum


class HukouType(StrEnum):
    """户口类型."""

    urban = "urban"
    rural = "rural"


class Relation(StrEnum):
    """Relation to the household head (与户主关系)."""

    head = "head"
    spouse = "spouse"
    child = "child"
    parent = "parent"
    grandchild = "grandchild"
    grandparent = "grandparent"
    sibling = "sibling"
    child_in_law = "child_in_law"
    other = "other"


class MemberExclusion(StrEnum):
    """Why a person living with the household is not a counted member (审核确认办法 Art. 7 ¶2)."""

    clergy_3y = "clergy_3y"  # 连续三年以上脱离家庭独立生活的宗教教职人员
    imprisoned = "imprisoned"  # 在监狱内服刑
    compulsory_rehab = "compulsory_rehab"  # 强制隔离戒毒
    declared_missing = "declared_missing"  # 宣告失踪
    other_provincial = "other_provincial"  # 省级民政部门认定的其他人员


class DisabilityCategory(StrEnum):
    """残疾类别 (GB/T 26341)."""

    visual = "visual"
    hearing = "hearing"
    speech = "speech"
    physical = "physical"
    intellectual = "intellectual"
    mental = "mental"
    multiple = "multiple"


class ChildStatus(StrEnum):
    """Children's protection categories (孤儿保障意见, 事实无人抚养儿童意见, 困境儿童意见)."""

    orphan_institution = "orphan_institution"  # 机构养育孤儿
    orphan_community = "orphan_community"  # 社会散居孤儿
    de_facto_unsupported = "de_facto_unsupported"  # 事实无人抚养儿童
    key_hardship = "key_hardship"  # 重点困境儿童 (安丘 980 yuan)
    hardship = "hardship"  # 困境儿童


class SchoolingStage(StrEnum):
    """就学阶段 (义务教育 = primary + junior_secondary)."""

    preschool = "preschool"
    primary = "primary"
    junior_secondary = "junior_secondary"
    senior_high = "senior_high"  # 普通高中
    secondary_vocational = "secondary_vocational"  # 中等职业学校
    higher_vocational = "higher_vocational"  # 高职、大专
    undergraduate = "undergraduate"
    postgraduate = "postgraduate"


class SupportMode(StrEnum):
    """特困人员供养方式 (社会救助暂行办法 Art. 19)."""

    centralized = "centralized"  # 集中供养
    dispersed = "dispersed"  # 分散供养


class LabourCapacity(StrEnum):
    """劳动能力."""

    full = "full"
    partial = "partial"
    none = "none"


class Employment(StrEnum):
    """就业状况."""

    employed = "employed"
    flexible = "flexible"  # 灵活就业
    farming = "farming"
    unemployed = "unemployed"
    retired = "retired"
    not_applicable = "not_applicable"  # children, students, people without labour capacity


class IncomeKind(StrEnum):
    """Income items; the first four are counted (审核确认办法 Art. 13), the rest are listed as not counted."""

    wage = "wage"
    business = "business"
    property = "property"
    transfer = "transfer"
    basic_pension = "basic_pension"  # 城乡居民基本养老保险基础养老金
    preferential = "preferential"  # 优待抚恤金
    family_planning = "family_planning"
    award = "award"  # 奖学金、见义勇为等奖励性补助
    assistance = "assistance"  # 政府发放的社会救助款物
    old_age_allowance = "old_age_allowance"  # 高龄津贴


class AssetKind(StrEnum):
    """Asset kinds checked by 审核确认办法 Art. 14."""

    financial = "financial"  # deposits, securities, funds, insurance, internet finance
    residential_property = "residential_property"
    non_residential_property = "non_residential_property"
    vehicle = "vehicle"
    business_registration = "business_registration"
    provident_fund = "provident_fund"


class ExpenseKind(StrEnum):
    """Rigid expenses (刚性支出困难家庭认定办法 Art. 5)."""

    medical = "medical"
    education = "education"
    rehabilitation = "rehabilitation"
    other = "other"


class SourceKind(StrEnum):
    """Where a fact came from."""

    declared = "declared"  # 申报
    investigated = "investigated"  # 入户调查
    feed = "feed"  # 部门数据 (an agency feed batch)


LABELS: dict[str, str] = {
    "urban": "城镇", "rural": "农村",
    "head": "户主", "spouse": "配偶", "child": "子女", "parent": "父母", "grandchild": "孙子女",
    "grandparent": "祖父母", "sibling": "兄弟姐妹", "child_in_law": "儿媳/女婿", "other": "其他",
    "clergy_3y": "宗教教职人员(3年以上)", "imprisoned": "服刑", "compulsory_rehab": "强制隔离戒毒",
    "declared_missing": "宣告失踪", "other_provincial": "省级认定其他",
    "visual": "视力", "hearing": "听力", "speech": "言语", "physical": "肢体", "intellectual": "智力",
    "mental": "精神", "multiple": "多重",
    "orphan_institution": "机构养育孤儿", "orphan_community": "社会散居孤儿",
    "de_facto_unsupported": "事实无人抚养儿童", "hardship": "困境儿童", "key_hardship": "重点困境儿童",
    "preschool": "学前", "primary": "小学", "junior_secondary": "初中", "senior_high": "普通高中",
    "secondary_vocational": "中等职业学校", "higher_vocational": "高职（专科）", "undergraduate": "本科",
    "postgraduate": "研究生", "centralized": "集中供养", "dispersed": "分散供养",
    "full": "完全", "partial": "部分", "none": "无",
    "employed": "就业", "flexible": "灵活就业", "farming": "务农", "unemployed": "失业",
    "retired": "退休", "not_applicable": "不适用",
    "wage": "工资性收入", "business": "经营净收入", "property": "财产净收入", "transfer": "转移净收入",
    "basic_pension": "基础养老金", "preferential": "优待抚恤金", "family_planning": "计划生育奖扶",
    "award": "奖励性补助", "assistance": "社会救助款物", "old_age_allowance": "高龄津贴",
    "financial": "金融资产", "residential_property": "住房", "non_residential_property": "非住房不动产",
    "vehicle": "机动车", "business_registration": "市场主体登记", "provident_fund": "住房公积金",
    "medical": "医疗", "education": "教育", "rehabilitation": "康复",
    "declared": "申报", "investigated": "入户调查", "feed": "部门数据",
    # living conditions (生活状况): kinds and values
    "housing_type": "住房类型", "housing_condition": "住房状况", "floor_area_per_capita": "人均住房面积(㎡)",
    "drinking_water": "饮用水", "toilet": "厕所", "housing": "住房安全", "unsafe_housing": "危房",
    "institution": "机构供养", "owned_apartment": "自有商品房", "self_built_house": "自建房",
    "public_rental": "公租房", "rented": "租住", "borrowed": "借住", "good": "良好", "ordinary": "一般",
    "dilapidated": "危房", "tap": "自来水", "well": "井水", "flush": "水冲式厕所", "dry": "旱厕",
    "safe": "安全", "unsafe": "不安全", "yes": "是", "no": "否", "true": "是", "false": "否",
    # financial products and vehicle types in agency records
    "deposit": "存款", "wealth_management": "理财", "fund": "基金", "securities": "证券", "insurance": "商业保险",
    "car": "小汽车", "truck": "货车", "van": "面包车", "motorcycle": "摩托车", "e_bike": "电动自行车",
    "disabled_mobility": "残疾人机动轮椅车", "vessel": "船舶",
    "cancelled": "已注销", "active": "正常", "normal": "正常", "residential": "住宅", "commercial": "商业",
    "enrolled": "在读", "graduated": "已毕业", "dropped_out": "辍学", "deceased": "已死亡",
    "open": "待处理", "closed": "已办结", "complaint": "投诉", "return_visit": "回访", "flagged": "存疑",
    "rejected": "已驳回", "approved": "已批准", "yearly": "年度复核", "pending": "待处理", "done": "已完成",
    "draft": "草稿", "held": "暂缓", "paid": "已发放", "submitted": "待受理", "decided": "已办结",
    "scheduled": "已安排", "checked_in": "已签到", "completed": "已完成", "missed": "未到", "answered": "已答复",
    "pdf": "PDF", "xlsx": "Excel", "csv": "CSV",
    "all": "全部", "assets": "财产", "expenses": "刚性支出", "income": "收入", "living": "生活状况",
    "assigned": "已分派", "disposed": "已处置", "new": "新预警", "no_action": "无需处置", "onsite": "入户",
    "phone": "电话", "video": "视频", "review": "复核", "verifying": "核实中", "self": "本人", "self_care": "生活自理",
    "standard": "标准", "bank": "银行存款", "death": "死亡", "disability": "残疾人证", "hukou": "户籍",
    "real_estate": "不动产", "school": "学籍", "social_insurance": "社会保险", "tax": "个人所得税",
    "unemployment": "失业登记",
    # 申请方式
    "staff": "窗口受理", "applicant": "本人申请", "proxy": "委托代办", "discovery": "主动发现", "online": "网上申请",
    # area levels
    "province": "省", "city": "市", "county": "县（市、区）", "township": "乡镇（街道）", "village": "村（居）",
}


def label(value: str | None) -> str:
    """The Chinese label of a vocabulary value (the value itself when unknown)."""
    if value is None:
        return ""
    return LABELS.get(value, value)
