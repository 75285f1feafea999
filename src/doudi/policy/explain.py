"""Turn decision frames into the documented JSON: reason codes → Chinese text with article references,
plus the trace of intermediate values. Output is deterministic (fixed program and key order)."""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from datetime import date
from typing import Any

import polars as pl

from doudi.policy.engine import MODULES, PROGRAMS, Decisions
from doudi.policy.programs import relative_poverty
from doudi.policy.programs.base import Codes
from doudi.policy.programs.extreme_poverty import level_name
from doudi.policy.programs.rigid_expense_hardship import valid_until
from doudi.registry.vocab import label

_PREFIX = {"extreme_poverty": "ep", "child_welfare": "cw", "disability_subsidies": "ds"}


def fmt_number(value: Any) -> Any:
    """Numbers as people write them: 537 not 537.0, 933.75 with two decimals."""
    if isinstance(value, float):
        if math.isinf(value):
            return "∞"
        return str(int(value)) if value == int(value) else f"{value:.2f}".rstrip("0").rstrip(".")
    return value


class _Ctx(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def render_reasons(codes: Codes, mask: int | None, ctx: Mapping[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """Decode a reason mask into [{code, text, refs}] with the trace values filled in."""
    safe = _Ctx({k: fmt_number(v) for k, v in ctx.items()})
    out = []
    for r in codes.decode(mask):
        text = string.Formatter().vformat(r.text, (), safe)
        out.append({"code": r.code, "text": prefix + text, "refs": list(r.refs)})
    return out


def _num(v: Any) -> Any:
    if isinstance(v, float):
        if math.isinf(v) or math.isnan(v):
            return None
        return round(v, 4)
    if isinstance(v, date):
        return v.isoformat()
    return v


def _member_label(m: Mapping[str, Any]) -> str:
    return f"成员{m['member_idx'] + 1}（{label(m['relation'])}）"


def household_json(d: Decisions, household_id: int) -> dict[str, Any]:
    """The full evaluation of one household of the batch, as the documented JSON structure."""
    h = d.households.filter(pl.col("household_id") == household_id).row(0, named=True)
    ms = d.members.filter(pl.col("household_id") == household_id).sort("member_idx").to_dicts()
    region = h["pack_region"]
    pack, p = d.packs[region], d.params[region]
    programs = {key: _program(key, h, ms, p, d.on) for key in PROGRAMS}
    used = sorted(k for k in p if pack.param(k).source_on(d.on).provisional and _is_rule_param(k))
    excluded = [{"member_index": m["member_idx"], "reason": label(m["exclusion"]) if m["exclusion"] else
                 "与户主无法定赡养、扶养、抚养关系"} for m in ms if not m["counted"]]
    return {
        "date": d.on.isoformat(),
        "area_code": h["area_code"],
        "household_id": household_id,
        "pack": {"region": region, "name": pack.name, "version": pack.version,
                 "chain": [pf.region for pf in pack.chain], "provisional_parameters": used},
        "household": {
            "size": h["n_counted"],
            "counted_members": [m["member_idx"] for m in ms if m["counted"]],
            "excluded_members": excluded,
            "counted_income": _num(h["counted_income_all"]),
            "per_capita_income": _num(h["pc_income_all"]),
            "standard": _num(h["std"]),
            "property_ok": h["prop_ok"],
        },
        "programs": programs,
    }


def _is_rule_param(key: str) -> bool:
    return key.split(".")[0] in {*PROGRAMS, "age", "statistics"}


def _program(key: str, h: Mapping[str, Any], ms: list[dict[str, Any]], p: Mapping[str, Any], on: date
             ) -> dict[str, Any]:
    mod = MODULES[key]
    trace = _trace(key, h, ms, p, on)
    ctx = {**trace, **{k: h[k] for k in ("std", "per_capita_income") if k in h}}
    out: dict[str, Any] = {
        "key": key, "label": mod.LABEL, "in_force": True,
        "eligible": bool(h[f"{key}_eligible"]),
        "monthly_amount": round(float(h[f"{key}_amount"] or 0.0), 2),
        "level": h[f"{key}_level"],
        "persons": int(h[f"{key}_persons"] or 0),
        "reasons": [], "refs": list(mod.REFS), "trace": trace,
    }
    if key in _PREFIX:
        members = [_member(key, m, p) for m in ms]
        out["members"] = members
        out["reasons"] = [{**r, "text": f"{_member_label(m)}：{r['text']}"}
                          for m, md in zip(ms, members, strict=True) for r in md["reasons"]
                          if md["eligible"] or (m["no_labour"] if key == "extreme_poverty" else bool(md["reasons"]))]
        if not out["reasons"]:
            out["reasons"] = [{"code": "none", "text": "家庭成员均不符合条件", "refs": list(mod.REFS[:1])}]
    else:
        out["reasons"] = render_reasons(mod.CODES, h[f"{key}_reasons"], ctx)
    if key == "dibao":
        out["members"] = [_dibao_member(m) for m in ms]
        out["review_interval_months"] = int(h["review_months"]) if out["eligible"] else None
    elif key == "dibao_marginal":
        out["in_force"] = bool(h["mg_in_force"])
    elif key == "rigid_expense_hardship":
        out["in_force"] = bool(h["rg_in_force"])
        if out["eligible"]:
            out["valid_until"] = valid_until(on, int(p["rigid_expense_hardship.valid_months"])).isoformat()
    elif key == "temporary_assistance":
        out["approval_level"] = h["ta_approval"]
        out["deadline_hours"] = h["ta_deadline"]
        out["one_off_amount"] = round(float(h["ta_amount"] or 0.0), 2) if out["eligible"] else None
    elif key == "relative_poverty":
        out["in_force"] = p.get("relative_poverty.method") is not None
    return out


def _dibao_member(m: Mapping[str, Any]) -> dict[str, Any]:
    return {"member_index": m["member_idx"], "person_id": m["person_id"], "eligible": bool(m["db_included"]),
            "monthly_amount": round(float(m["db_person_amount"]), 2) if m["db_included"] else 0.0,
            "level": "single_person" if m["db_single"] else ("household" if m["db_included"] else None),
            "reasons": []}


def _member(key: str, m: Mapping[str, Any], p: Mapping[str, Any]) -> dict[str, Any]:
    pre = _PREFIX[key]
    mod = MODULES[key]
    eligible = bool(m[f"{pre}_eligible"])
    ctx: dict[str, Any] = {"elderly_age": p["age.elderly"], "labour_min_age": p["age.labour_min"],
                           "minor_age": p["age.minor"], "own_income": m["income_own_ep"], "standard": m["std"],
                           "unable": m["self_care_unable_items"], "basic": m["ep_basic"], "care": m["ep_care"],
                           "amount": m["ep_full_amount"], "allowance": m["cw_allowance"],
                           "other": m["db_person_amount"], "grade": m["disability_grade"],
                           "living": m["ds_living_amount"], "care_subsidy": m["ds_care_amount"]}
    if key == "disability_subsidies":
        ctx["care"] = m["ds_care_amount"]
    out: dict[str, Any] = {
        "member_index": m["member_idx"], "person_id": m["person_id"], "eligible": eligible,
        "monthly_amount": round(float(m[f"{pre}_amount"] or 0.0), 2) if eligible else 0.0,
        "level": None, "reasons": render_reasons(mod.CODES, m[f"{pre}_reasons"], ctx),
    }
    if key == "extreme_poverty":
        out["level"] = out["care_level"] = level_name(m["ep_rank"])
        out["care_hours_per_month"] = m["ep_hours"] if eligible else None
    elif key == "child_welfare":
        out["level"] = m["child_status"] if eligible else None
    else:
        out["level"] = m["ds_level"]
    return out


def _trace(key: str, h: Mapping[str, Any], ms: list[dict[str, Any]], p: Mapping[str, Any], on: date
           ) -> dict[str, Any]:
    excluded = "、".join(_member_label(m) for m in ms if not m["counted"]) or "无"
    if key == "dibao":
        t = {"size": h["n"], "excluded": excluded, "counted_income": h["counted_income"],
             "per_capita_income": h["per_capita_income"], "standard": h["std"],
             "employment_deduction": h["employment_deduction"], "uncounted_income": h["uncounted_income"],
             "rigid_deduction": h["rigid_deduction"], "financial_assets": h["financial_assets"],
             "financial_limit": h["fin_limit"], "property_ok": h["prop_ok"], "method": p["dibao.benefit.method"],
             "gap_share": h["gap_share"], "base_amount": h["base_amount"], "increment": h["increment"],
             "refusers": h["refusers"], "max_refusals": p.get("dibao.work_refusal.max_refusals"),
             "refusal_cut": h["refusal_cut"], "ep_members": h["ep_members"], "single_members": h["single_members"],
             "single_amount": h["single_amount"],
             "exit_month": h["exit_month"] if h["receiving_dibao"] else None,
             "exit_months": h["exit_months"] if h["receiving_dibao"] else None,
             "review_months": h["review_months"]}
    elif key == "dibao_marginal":
        t = {"per_capita_income": h["per_capita_income"], "standard": h["std"],
             "multiple": p.get("dibao_marginal.income_multiple"), "marginal_line": h["marginal_line"],
             "property_ok": h["prop_ok"]}
    elif key == "extreme_poverty":
        t = {"standard": h["std"], "basic_multiplier": p["extreme_poverty.basic_multiplier"],
             "has_capable_supporter": h["has_capable_supporter"], "property_ok": h["prop_ok"]}
    elif key == "rigid_expense_hardship":
        t = {"annual_pc_income": h["annual_pc_income"], "disposable_income": h["disposable_income"],
             "rigid_expenses": h["rigid_expenses"], "counted_income": h["counted_income_all"],
             "expense_share": h["expense_share"], "expense_limit": h["expense_limit"], "property_ok": h["prop_ok"],
             "expense_share_pct": _pct(h["expense_share"]), "expense_limit_pct": _pct(h["expense_limit"]),
             "valid_months": p.get("rigid_expense_hardship.valid_months")}
        if h["rigid_expense_hardship_eligible"]:
            t["valid_until"] = valid_until(on, int(p["rigid_expense_hardship.valid_months"])).isoformat()
    elif key == "temporary_assistance":
        t = {"kind": h["need_kind"], "need": h["need_amount"], "standard": h["std"], "need_months": h["need_months"],
             "cover": h["cover"], "cover_pct": _pct(h["cover"]), "amount": h["ta_amount"],
             "township_limit": h["township_limit"], "county_cap": h["county_cap"],
             "deadline_hours": h["ta_deadline"], "annual_pc_income": h["annual_pc_income"],
             "disposable_income": h["disposable_income"]}
    elif key == "relative_poverty":
        feats = {f"f_{name}": None for name in relative_poverty.FEATURES}
        t = {"method": p.get("relative_poverty.method"), "annual_pc_income": h["rp_annual"],
             "income_line": h["income_line"], "score": h["rp_score"],
             "pass_score": p.get("relative_poverty.pass_score"),
             "failed_required": h["rp_required_failed"]}
        if p.get("relative_poverty.method") == "multidimensional":
            feats.update(_features(h))
            t["indicators"] = relative_poverty.indicator_details(p, on, feats)
    else:
        t = {}
    return {k: _num(v) for k, v in t.items()}


def _features(h: Mapping[str, Any]) -> dict[str, Any]:
    n = max(h["n_counted"], 1)
    share = h["expense_share"]
    return {
        "f_pc_income_ratio": h["pc_income_all"] / h["std"], "f_financial_assets_pc_months": h["financial_assets"] / n
        / h["std"], "f_rigid_expense_share": share, "f_no_labour_share": h["n_no_labour"] / n,
        "f_labour_capable_members": h["n_labour_all"], "f_severe_disabled_members": h["n_severe"],
        "f_seriously_ill_members": h["n_ill"], "f_elderly_members": h["n_elderly"], "f_dependants": h["n_dependants"],
        "f_household_size": h["n_counted"], "f_residential_properties": h["residential_properties"],
        "f_vehicles": h["vehicles"], "f_business_registrations": h["business_registrations"],
        "f_unsafe_housing": int(bool(h["unsafe_housing"])), "f_no_safe_water": int(bool(h["no_safe_water"])),
    }


def _pct(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float) and math.isinf(v):
        return "∞（家庭无收入）"
    return f"{float(v) * 100:.1f}%"
