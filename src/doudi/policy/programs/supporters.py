"""Who owes a person support (法定赡养、抚养、扶养义务人), and which of them can give it.

Duties (民法典 Arts. 1059, 1067, 1074, 1075; before 2021 婚姻法 Arts. 20, 21, 28, 29): spouses for each
other; parents for minor children and adult children who cannot live independently; adult children for
parents; grandparents for a minor grandchild whose parents are dead or unable; adult grandchildren for a
grandparent whose children are dead or unable; an older sibling for a minor sibling whose parents are
dead or unable. Inside the household the relations come from each member's relation to the head
(户口簿 与户主关系): the head's spouse is taken as the other parent of the head's children, and two
parents of the head as each other's spouse. Where the relation to the head cannot tell (which child a
grandchild belongs to when there are several adult children), the duty is only *possible*, and a person
with possible but no certain capable supporter is 待核实, never granted on a guess.

Capacity (特困人员认定办法 Art. 8): a supporter is unable exactly when a 特困 person; a 低保 recipient aged
60 or over; aged 70 or over with own income below last year's local per-capita disposable income and
property within the limits; severely disabled or grade-3 intellectual/mental, with the same income and
property test; without civil capacity, declared missing or in prison, with property within limits; or a
provincial addition (dated pack rows). Minors owe no support.

Supporters living elsewhere are declared per member (able / unable / not yet verified); the household flag
``has_capable_supporter``, where given, speaks only of supporters outside the household.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from doudi.policy.prepare import ROLE_OF, ROLES
from doudi.policy.protocol import disability_within
from doudi.policy.resolved import PackError
from doudi.policy.segments import Segments

# Art. 8 capacity codes of a member as a possible supporter.
CAPABLE, MINOR, EP_SUPPORTED, DIBAO_ELDERLY, ELDERLY_LOW_INCOME, DISABLED_LOW_INCOME, INCAPACITATED, PROVINCIAL, \
    EP_NOW = range(9)
CAPACITY_TEXT = {
    CAPABLE: "有履行能力",
    MINOR: "未成年，不负赡养、抚养、扶养义务",
    EP_SUPPORTED: "为特困人员，无履行义务能力（第八条第一项）",
    DIBAO_ELDERLY: "为 {dibao_min_age} 周岁以上低保对象，无履行义务能力（第八条第二项）",
    ELDERLY_LOW_INCOME: "{elderly_min_age} 周岁以上，本人收入低于上年人均可支配收入且财产符合规定，"
                        "无履行义务能力（第八条第三项）",
    DISABLED_LOW_INCOME: "重度残疾或三级智力、精神残疾，本人收入低于上年人均可支配收入且财产符合规定，"
                         "无履行义务能力（第八条第四项）",
    INCAPACITATED: "无民事行为能力、被宣告失踪或在监狱服刑，财产符合规定，无履行义务能力（第八条第五项）",
    PROVINCIAL: "属省级规定的无履行义务能力情形（第八条第六项）：{provincial}",
    EP_NOW: "本次认定为特困人员，无履行义务能力（第八条第一项）",
}

# Schooling that keeps an adult child "not able to live independently" (民法典婚姻家庭编解释（一）第四十一条:
# 尚在校接受高中及其以下学历教育).
DEPENDENT_STAGES = ("primary", "junior_secondary", "senior_high", "secondary_vocational")


@dataclass(frozen=True)
class Duty:
    """One duty of support between two roles in a household."""

    supported: str
    supporter: str
    basis: str  # spouse | parent | child | grandparent | grandchild | sibling
    when: str = "always"  # always | dependent | minor_no_parent | no_child
    certain: str = "yes"  # yes | no | one_adult_child | one_couple


DUTIES: tuple[Duty, ...] = (
    Duty("head", "spouse", "spouse"),
    Duty("head", "child", "child"),
    Duty("head", "parent", "parent", "dependent"),
    Duty("head", "grandchild", "grandchild", "no_child"),
    Duty("head", "grandparent", "grandparent", "minor_no_parent"),
    Duty("head", "sibling", "sibling", "minor_no_parent"),
    Duty("spouse", "head", "spouse"),
    Duty("spouse", "child", "child"),
    Duty("spouse", "grandchild", "grandchild", "no_child"),
    Duty("child", "head", "parent", "dependent"),
    Duty("child", "spouse", "parent", "dependent"),
    Duty("child", "child", "sibling", "minor_no_parent"),
    Duty("child", "parent", "grandparent", "minor_no_parent"),
    Duty("child", "child_in_law", "spouse", certain="one_couple"),
    Duty("child", "grandchild", "child", certain="one_adult_child"),
    Duty("parent", "head", "child"),
    Duty("parent", "sibling", "child"),
    Duty("parent", "parent", "spouse"),
    Duty("parent", "child", "grandchild", "no_child"),
    Duty("parent", "grandparent", "parent", "dependent", certain="no"),
    Duty("grandchild", "child", "parent", "dependent", certain="one_adult_child"),
    Duty("grandchild", "child_in_law", "parent", "dependent", certain="one_couple"),
    Duty("grandchild", "head", "grandparent", "minor_no_parent"),
    Duty("grandchild", "spouse", "grandparent", "minor_no_parent"),
    Duty("grandchild", "grandchild", "sibling", "minor_no_parent", certain="no"),
    Duty("grandparent", "head", "grandchild", "no_child"),
    Duty("grandparent", "sibling", "grandchild", "no_child"),
    Duty("grandparent", "parent", "child", certain="no"),
    Duty("grandparent", "grandparent", "spouse", certain="no"),
    Duty("sibling", "parent", "parent", "dependent"),
    Duty("sibling", "head", "sibling", "minor_no_parent"),
    Duty("sibling", "sibling", "sibling", "minor_no_parent"),
    Duty("sibling", "grandparent", "grandparent", "minor_no_parent"),
    Duty("child_in_law", "child", "spouse", certain="one_couple"),
    Duty("child_in_law", "grandchild", "child", certain="no"),
)
BASIS_LABEL = {"spouse": "配偶", "parent": "父母", "child": "成年子女", "grandparent": "祖父母、外祖父母",
               "grandchild": "成年孙子女、外孙子女", "sibling": "兄、姐"}
_POW = 256 ** np.arange(len(ROLES), dtype=np.int64)  # 8 bits per role in one Int64 of household counts


def capacity(q: Any, *, dibao_recipient: pl.Expr, prop_ok: pl.Expr, low_income: pl.Expr) -> pl.Expr:
    """The Art. 8 capacity code of each member as a possible supporter (first case that applies)."""
    provincial = provincial_rule(q.sup_provincial, low_income)
    incapacitated = pl.col("no_civil_capacity") | pl.col("exclusion").is_in(["imprisoned", "declared_missing"])
    return (pl.when(~pl.col("adult")).then(MINOR)
            .when(pl.col("extreme_poverty_supported")).then(EP_SUPPORTED)
            .when(dibao_recipient & (pl.col("age") >= q.sup_dibao_min_age)).then(DIBAO_ELDERLY)
            .when((pl.col("age") >= q.sup_elderly_min_age) & low_income & prop_ok).then(ELDERLY_LOW_INCOME)
            .when(disability_within(q.sup_disability) & low_income & prop_ok).then(DISABLED_LOW_INCOME)
            .when(incapacitated & prop_ok).then(INCAPACITATED)
            .when(provincial).then(PROVINCIAL)
            .otherwise(CAPABLE).cast(pl.Int8))


_FEATURES = {"age": lambda: pl.col("age"), "serious_illness": lambda: pl.col("serious_illness").cast(pl.Int32),
             "severe_disability": lambda: pl.col("severe").cast(pl.Int32),
             "disability_grade": lambda: pl.col("disability_grade"),
             "no_civil_capacity": lambda: pl.col("no_civil_capacity").cast(pl.Int32)}
_OPS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq"}


def provincial_rule(rows: Sequence[Mapping[str, Any]], low_income: pl.Expr) -> pl.Expr:
    """Art. 8 (6): provincial additions as pack rows ``{label, all: [{feature, op, threshold}], low_income}``."""
    terms = []
    for i, row in enumerate(rows):
        where = f"extreme_poverty.supporter_unable.provincial[{i}]"
        if not isinstance(row, dict) or not isinstance(row.get("all"), list) or not row.get("label"):
            raise PackError(f"{where}: 应为 {{label, all: [{{feature, op, threshold}}], low_income}}")
        conds = []
        for c in row["all"]:
            if c.get("feature") not in _FEATURES or c.get("op") not in _OPS or "threshold" not in c:
                raise PackError(f"{where}: 条件 {c!r} 须有 feature（{'、'.join(_FEATURES)}）、op 与 threshold")
            conds.append(getattr(_FEATURES[c["feature"]](), _OPS[c["op"]])(float(c["threshold"])))
        if row.get("low_income"):
            conds.append(low_income)
        terms.append(pl.all_horizontal(conds).fill_null(False))
    return pl.any_horizontal(terms) if terms else pl.lit(False)


def role_weights(role: np.ndarray) -> np.ndarray:
    """Each member's 8-bit slot in the packed household counts (0 for a member without a role)."""
    return np.where(role >= 0, _POW[np.clip(role, 0, None)], 0).astype(np.int64)


def household_counts(role: np.ndarray, flag: np.ndarray, seg: Segments, weights: np.ndarray | None = None
                     ) -> np.ndarray:
    """For each member, how many members of its household have `flag`, per role (8 bits per role, Int64)."""
    w = role_weights(role) if weights is None else weights
    counts: np.ndarray = seg.reduce(w * flag, "sum")[seg.member_rows.to_numpy()]
    return counts


def supporter_counts(rows: np.ndarray, role: np.ndarray, capable: np.ndarray, minor: np.ndarray,
                     dependent_: np.ndarray, cap_packed: np.ndarray, adult_packed: np.ndarray,
                     bases: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For the members at `rows`: capable supporters in the household whose duty is certain, and those whose
    duty is only possible (the relation to the head cannot tell), by the table :data:`DUTIES` (optionally
    only the duties of some bases, e.g. ``["parent"]``)."""
    n = len(rows)
    certain, possible = np.zeros(n, np.int32), np.zeros(n, np.int32)
    r_all = role[rows]
    for name, r in ROLE_OF.items():
        at = np.flatnonzero(r_all == r)  # the candidates of this role, as positions within `rows`
        if not at.size:
            continue
        sel = rows[at]
        fields = (cap_packed[sel, None] // _POW) % 256
        own = capable[sel].astype(np.int64)
        adult_children = (adult_packed[sel] // _POW[ROLE_OF["child"]]) % 256
        adult_in_laws = (adult_packed[sel] // _POW[ROLE_OF["child_in_law"]]) % 256
        k = len(sel)
        sure = {"yes": np.ones(k, bool), "no": np.zeros(k, bool), "one_adult_child": adult_children == 1,
                "one_couple": (adult_children == 1) & (adult_in_laws == 1)}
        duties = [d for d in DUTIES if d.supported == name and (bases is None or d.basis in bases)]
        counts = [fields[:, ROLE_OF[d.supporter]] - (own if d.supporter == name else 0) for d in duties]
        parents = sum((c for d, c in zip(duties, counts, strict=True) if d.basis == "parent"), np.zeros(k, np.int64))
        children = sum((c for d, c in zip(duties, counts, strict=True) if d.basis == "child"), np.zeros(k, np.int64))
        mnr, dep = minor[sel], dependent_[sel]
        c_sum, p_sum = np.zeros(k, np.int64), np.zeros(k, np.int64)
        for d, c in zip(duties, counts, strict=True):
            cond = {"always": np.ones(k, bool), "dependent": dep, "minor_no_parent": mnr & (parents == 0),
                    "no_child": children == 0}[d.when]
            c_sum += np.where(cond & sure[d.certain], c, 0)
            p_sum += np.where(cond & ~sure[d.certain], c, 0)
        certain[at], possible[at] = c_sum, p_sum
    return certain, possible


def dependent(stages: Sequence[str] = DEPENDENT_STAGES) -> pl.Expr:
    """Minor, or an adult child who cannot live independently (disability table of Art. 5, or at school
    up to senior high)."""
    return (pl.col("minor") | pl.col("no_labour_disability")
            | pl.col("schooling_stage").is_in(list(stages)).fill_null(False))


# --------------------------------------------------------------------------- the same table, for one household
def describe(members: Sequence[Mapping[str, Any]], i: int) -> list[dict[str, Any]]:
    """The in-household supporters of member `i` (their index, basis, certainty and Art. 8 capacity code),
    by the same table and conditions as :func:`supporter_counts` (used to explain a decision)."""
    me = members[i]
    role = me["relation"]
    adults = {r: sum(1 for m in members if m["relation"] == r and m["adult"]) for r in ROLES}

    def capable(m: Mapping[str, Any]) -> bool:
        return bool(m["sup_code"] == CAPABLE)

    duties = [d for d in DUTIES if d.supported == role]
    found: list[tuple[Duty, int]] = [(d, j) for d in duties for j, m in enumerate(members)
                                     if j != i and m["relation"] == d.supporter]
    parents = sum(1 for d, j in found if d.basis == "parent" and capable(members[j]))
    children = sum(1 for d, j in found if d.basis == "child" and capable(members[j]))
    out = []
    for d, j in found:
        if d.when == "dependent" and not me["sup_dependent"]:
            continue
        if d.when == "minor_no_parent" and not (me["minor"] and parents == 0):
            continue
        if d.when == "no_child" and children != 0:
            continue
        certain = {"yes": True, "no": False, "one_adult_child": adults["child"] == 1,
                   "one_couple": adults["child"] == 1 and adults["child_in_law"] == 1}[d.certain]
        out.append({"member_index": members[j]["member_idx"], "basis": d.basis, "certain": certain,
                    "capacity": int(members[j]["sup_code"])})
    return out
