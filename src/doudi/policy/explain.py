"""Turn decision frames into the documented JSON: reason codes → Chinese text with the legal references in
force on the decision date, plus the trace of intermediate values. Output is deterministic (fixed
program and key order). Every program is shown through its declaration (protocol.py)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date
from functools import lru_cache
from typing import Any

import polars as pl

from doudi.policy import prepare
from doudi.policy.engine import Decisions
from doudi.policy.programs import all_programs
from doudi.policy.protocol import Codes, Program
from doudi.policy.spec import REFS_PREFIX
from doudi.registry.vocab import label


def fmt_number(value: Any) -> Any:
    """Numbers as people write them: 537 not 537.0, 933.75 with two decimals."""
    if isinstance(value, float):
        if math.isinf(value):
            return "∞"
        return str(int(value)) if value == int(value) else f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, date):
        return value.isoformat()
    return value


class _Ctx:
    """The trace values a reason text names, formatted only when the text asks for them ("?" when unknown)."""

    def __init__(self, ctx: Mapping[str, Any]) -> None:
        self.ctx = ctx

    def __getitem__(self, key: str) -> Any:
        return fmt_number(self.ctx[key]) if key in self.ctx else "?"


def refs_on(p: Mapping[str, Any], topics: Iterable[str]) -> list[str]:
    """The citations of reference topics in force on the evaluation date (dated pack data), in order."""
    out: list[str] = []
    for topic in topics:
        for ref in p.get(f"{REFS_PREFIX}{topic}") or []:
            if ref not in out:
                out.append(ref)
    return out


def render_reasons(codes: Codes, mask: int | None, ctx: Mapping[str, Any], p: Mapping[str, Any],
                   prefix: str = "") -> list[dict[str, Any]]:
    """Decode a reason mask into [{code, text, refs}] with the trace values filled in."""
    safe = _Ctx(ctx)
    return [{"code": r.code, "text": prefix + r.text.format_map(safe), "refs": refs_on(p, r.refs)}
            for r in codes.decode(mask)]


def _num(v: Any) -> Any:
    if isinstance(v, float):
        if math.isinf(v) or math.isnan(v):
            return None
        return round(v, 4)
    if isinstance(v, date):
        return v.isoformat()
    return v


def member_label(m: Mapping[str, Any]) -> str:
    """成员N（关系）."""
    return f"成员{m['member_idx'] + 1}（{label(m['relation'])}）"


def start_unknown_notes(ms: list[dict[str, Any]], on: date) -> list[str]:
    """What a decision says about counted members whose joining date the ledger did not give (台账迁移)."""
    return [f"{member_label(m)}的入户日期台账未载，按导入前即为本户成员计入（{on.isoformat()} 的测算据此）"
            for m in ms if m["counted"] and m.get("start_known") is False]


def household_json(d: Decisions, household_id: int) -> dict[str, Any]:
    """The full evaluation of one household of the batch, as the documented JSON structure."""
    hh, mem = d.households, d.members
    if hh.height == 1 and hh["household_id"][0] == household_id and (mem["household_id"] == household_id).all():
        # A single case (the API): its frames hold only this household, already in member order.
        h = hh.row(0, named=True)
        ms = (mem if mem["member_idx"].is_sorted() else mem.sort("member_idx")).to_dicts()
    else:
        h = hh.filter(pl.col("household_id") == household_id).row(0, named=True)
        ms = mem.filter(pl.col("household_id") == household_id).sort("member_idx").to_dicts()
    region = h["pack_region"]
    pack, p = d.packs[region], d.params[region]
    shared = prepare.context(prepare.SharedParams.read(p))
    programs = {prog.key: _program(prog, h, ms, p, prog.params.read(p), shared, d.on) for prog in all_programs()}
    used = list(_provisional_rule_params(p.provisional, tuple(prog.key for prog in all_programs())))
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
            "notes": start_unknown_notes(ms, d.on),
        },
        "programs": programs,
    }


@lru_cache(maxsize=256)
def _provisional_rule_params(provisional: frozenset[str], program_keys: tuple[str, ...]) -> tuple[str, ...]:
    """The provisional keys a rule reads, sorted (the same few sets on every call: cached)."""
    prefixes = {*program_keys, "age", "statistics", "disability", "rigid_expenses"}
    return tuple(sorted(k for k in provisional if k.split(".")[0] in prefixes))


def _program(prog: Program, h: Mapping[str, Any], ms: list[dict[str, Any]], p: Mapping[str, Any], q: Any,
             shared: Mapping[str, Any], on: date) -> dict[str, Any]:
    key = prog.key
    trace = prog.trace(h, ms, q, on)
    ctx = {**shared, **trace, **{k: h[k] for k in ("std", "per_capita_income") if k in h}}
    out: dict[str, Any] = {
        "key": key, "label": prog.label, "in_force": bool(h[f"{key}_in_force"]),
        "eligible": bool(h[f"{key}_eligible"]),
        "monthly_amount": round(float(h[f"{key}_amount"] or 0.0), 2),
        "level": h[f"{key}_level"],
        "persons": int(h[f"{key}_persons"] or 0),
        "reasons": render_reasons(prog.codes, h[f"{key}_reasons"], ctx, p),
        "refs": refs_on(p, prog.refs), "trace": {k: _num(v) for k, v in trace.items()},
    }
    if prog.member_output is not None:
        members = [_member(prog, m, ms, p, q, shared) for m in ms]
        out["members"] = members
        out["reasons"] += [{**r, "text": f"{member_label(m)}：{r['text']}"}
                           for m, md in zip(ms, members, strict=True) for r in md["reasons"]
                           if prog.member_output.shown(m)]
        if not out["reasons"]:
            out["reasons"] = [{"code": "none", "text": "家庭成员均不属于该项目的对象",
                               "refs": refs_on(p, prog.refs[:1])}]
    if prog.details is not None:
        out.update(prog.details(h, q, on))
    return out


def _member(prog: Program, m: Mapping[str, Any], ms: list[dict[str, Any]], p: Mapping[str, Any], q: Any,
            shared: Mapping[str, Any]) -> dict[str, Any]:
    mo = prog.member_output
    assert mo is not None
    eligible = bool(m[mo.eligible])
    ctx = {**shared, "age": m["age"], "grade": m["disability_grade"],
           "disability": _disability(m), **(prog.member_context(m, q, ms) if prog.member_context else {})}
    out: dict[str, Any] = {
        "member_index": m["member_idx"], "person_id": m["person_id"], "eligible": eligible,
        "monthly_amount": round(float(m[mo.amount] or 0.0), 2) if eligible else 0.0, "level": None,
        "reasons": render_reasons(prog.codes, m[mo.reasons], ctx, p) if mo.reasons else [],
    }
    if prog.member_details is not None:
        out.update(prog.member_details(m, q))
    return out


def _disability(m: Mapping[str, Any]) -> str:
    if m["disability_grade"] is None:
        return "无残疾"
    return f"{label(m['disability_category'])}残疾 {m['disability_grade']} 级"
