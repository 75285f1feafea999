"""Targeting accuracy: inclusion error (错保) and exclusion error (漏保) of every program's decisions against
decisions computed from the synthetic county's ground truth with the same packs.

    python -m bench targeting
    DOUDI_BENCH_HOUSEHOLDS=1000 python -m bench targeting        # quicker, noisier

Input: for each scenario a synthetic county (`doudi.synth`, seed 20201201) of DOUDI_BENCH_HOUSEHOLDS households
(default 3,000), loaded into a fresh SQLite database through the registry import, the declared-facts import and
the ingest (with linkage) of every agency feed; see testkit/targeting.py for the three information levels and
the truth. Scenarios: 安丘 (370784, 低保 on the income line) and 江门 (440700, with the 2020 multi-dimensional
相对贫困 assessment), each at 0 ×, 1 × (params.yaml) and 2 × the under-declaration rates.

Inclusion error = granted households not eligible in truth / granted; exclusion error = truly eligible households
refused / truly eligible. The ratio is the declared-only baseline's error over the level's (higher is better);
at 0 × under-declaration no ratio is given. The floor: the same engine on the truth with the income no feed
reports (cash work, informal farming, family support, untaxed business and rent) as declared: the best any
verification can reach; its errors are printed beside the others.

Targets at 1 ×: with verified facts, inclusion and exclusion error each < 1 % and at least 5 × lower than the
declared-only baseline (a baseline of 0 needs a level of 0). Checked for every program with at least one
granted or truly eligible household in both regions' scenarios.
What is timed (reported, no target): drawing, import, ingest, the three assessments, the truth.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from testkit.targeting import LEVELS, Study, run_study

REGIONS = {"370784": "安丘", "440700": "江门"}
SCALES = (0.0, 1.0, 2.0)
SEED = 20201201
TARGET_ERROR, TARGET_RATIO = 0.01, 5.0


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:5.2f}%"


def _ratio(base: float | None, level: float | None) -> float | None:
    if base is None or level is None:
        return None
    if level == 0:
        return float("inf") if base > 0 else None
    return base / level


def _ratio_text(r: float | None) -> str:
    return "—" if r is None else ("∞" if r == float("inf") else f"{r:.1f}×")


def _verdict(row_base: dict[str, Any], row: dict[str, Any]) -> str:
    """OK when both errors are below 1 % and at least 5 × below the baseline's (0 when the baseline is 0)."""
    for err in ("inclusion_error", "exclusion_error"):
        b, v = row_base.get(err), row.get(err)
        if v is None:
            continue
        if v >= TARGET_ERROR:
            return "MISSED"
        if v > 0 and (not b or b / v < TARGET_RATIO):
            return "MISSED"
    return "OK"


def _table(study: Study) -> tuple[list[dict[str, Any]], list[str]]:
    e = study.errors
    programs = e.filter(pl.col("granted") + pl.col("truly_eligible") > 0)["program"].unique().sort().to_list()
    rows, lines = [], []
    lines.append(f"{'项目':<24}{'层级':<12}{'发放户':>7}{'应保户':>7}{'错保':>6}{'漏保':>6}"
                 f"{'错保率':>9}{'漏保率':>9}{'错保降幅':>9}{'漏保降幅':>9}")
    for prog in programs:
        by = {r["level"]: r for r in e.filter(pl.col("program") == prog).to_dicts()}
        base = by["declared"]
        for lvl in (*LEVELS, "floor"):
            r = by[lvl]
            ri = _ratio(base["inclusion_error"], r["inclusion_error"]) if study.scale and lvl != "declared" else None
            rx = _ratio(base["exclusion_error"], r["exclusion_error"]) if study.scale and lvl != "declared" else None
            verdict = _verdict(base, r) if study.scale == 1.0 and lvl == "verified" else ""
            rows.append({"program": prog, "level": lvl, "granted": r["granted"], "truly_eligible": r["truly_eligible"],
                         "wrongly_included": r["wrongly_included"], "wrongly_excluded": r["wrongly_excluded"],
                         "inclusion_error": r["inclusion_error"], "exclusion_error": r["exclusion_error"],
                         "inclusion_ratio": ri, "exclusion_ratio": rx, **({"target": verdict} if verdict else {})})
            lines.append(f"{prog:<24}{lvl:<12}{r['granted']:>7}{r['truly_eligible']:>7}{r['wrongly_included']:>6}"
                         f"{r['wrongly_excluded']:>6}{_pct(r['inclusion_error']):>9}{_pct(r['exclusion_error']):>9}"
                         f"{_ratio_text(ri):>9}{_ratio_text(rx):>9}  {verdict}")
    return rows, lines


def _visibility(study: Study) -> dict[str, Any]:
    v = study.visibility
    total = float(v["true_income"].sum()) or 1.0
    return {"invisible_income_share": round(float(v["invisible_income"].sum()) / total, 4),
            "invisible_undeclared_share": round(float(v["invisible_undeclared"].sum()) / total, 4),
            # More than the rounding of a declaration (to 10 yuan) in a month:
            "households_with_undeclared_invisible_income": int((v["invisible_undeclared"] > 5).sum())}


def run() -> dict[str, Any]:
    """Every scenario: the table printed, the figures returned."""
    n = int(os.environ.get("DOUDI_BENCH_HOUSEHOLDS", "3000"))
    out: dict[str, Any] = {"database": "SQLite (a fresh file per scenario; the truth in its own file)",
                           "input": f"synthetic counties of {n:,} households, seed {SEED}", "scenarios": {}}
    verdicts = []
    for region, name in REGIONS.items():
        for scale in SCALES:
            with tempfile.TemporaryDirectory() as tmp:
                study = run_study(region, n, SEED, scale, Path(tmp))
            rows, lines = _table(study)
            label = f"{name} {region} × {scale:g} 瞒报"
            print(f"\n== {label}（{study.counts['households']:,} 户，评估日 {study.on}）", flush=True)
            print("\n".join(lines))
            vis = _visibility(study)
            hidden_hh = vis["households_with_undeclared_invisible_income"]
            print(f"   部门数据看不到的收入占计入收入 {vis['invisible_income_share'] * 100:.1f}%，其中未申报的占 "
                  f"{vis['invisible_undeclared_share'] * 100:.2f}%（{hidden_hh} 户）：核对后误差的下限见 floor 行",
                  flush=True)
            c = study.counts
            print(f"   监测：{c.get('warnings', 0)} 条预警，复核 {c.get('reviewed_households', 0)} 户，"
                  f"登记死亡 {c.get('deaths_recorded', 0)} 人；耗时 {study.seconds}", flush=True)
            verdicts += [r["target"] for r in rows if "target" in r]
            out["scenarios"][label] = {
                "errors": {f"{r['program']}/{r['level']}": [r["inclusion_error"], r["exclusion_error"]] for r in rows
                           if r["level"] in ("declared", "verified", "floor")},
                "targets": {r["program"]: r["target"] for r in rows if "target" in r},
                "visibility": vis, "counts": study.counts, "seconds": study.seconds}
    out["targets"] = {"verified_error_below": TARGET_ERROR, "ratio_to_declared_at_least": TARGET_RATIO}
    out["verdict"] = "OK" if verdicts and all(v == "OK" for v in verdicts) else "MISSED"
    out["programs_missed"] = sum(v == "MISSED" for v in verdicts)
    out["programs_checked"] = len(verdicts)
    return out
