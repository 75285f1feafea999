"""The documented path of a new county (synth → areas → households → facts → recipients → assess) on 安丘 and
江门, and the round trip export → import on both backends."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.areas.service import parse_division_file, upsert_areas
from doudi.auth.permissions import system_actor
from doudi.caseload.check import check_migrated
from doudi.caseload.export import enrollments_frame, facts_frame, households_frame, write_export
from doudi.caseload.importer import import_enrollments
from doudi.caseload.models import MigratedEnrollment
from doudi.policy.engine import evaluate_frames
from doudi.policy.registry_frames import read_registry
from doudi.registry.facts_import import import_facts
from doudi.registry.import_read import ImportFileError
from doudi.registry.importer import import_households
from doudi.synth.generate import SynthConfig, generate

ACTOR = system_actor(name="newcomer")
KINDS = ("income", "assets", "expenses", "living")
TOLERANCE = 0.02  # the issue: within 2 percentage points of the ground truth's share


def _load(db: Session, out: Path, region: str, households: int) -> date:
    generate(SynthConfig(region=region, households=households, seed=11, feeds=False), out)
    upsert_areas(db, rows=parse_division_file(out / "areas.csv"))
    db.flush()
    assert import_households(db, actor=ACTOR, path=out / "households.csv").rows_rejected == 0
    return date.fromisoformat(json.loads((out / "manifest.json").read_text())["reference_date"])


def _dibao_share(db: Session, on: date) -> float:
    d = evaluate_frames(read_registry(db.connection(), on=on), on, skip_unconfigured=True)
    eligible = d.households["dibao_eligible"].fill_null(False)
    return int(eligible.sum()) / max(eligible.len(), 1)


@pytest.mark.parametrize("region", ["370784", "440700"])
def test_newcomer_path_gives_the_ground_truths_dibao_share(db: Session, tmp_path: Path, region: str) -> None:
    ref = _load(db, tmp_path, region, 800)
    without_facts = _dibao_share(db, ref)
    for kind in KINDS:
        result = import_facts(db, actor=ACTOR, kind=kind, path=tmp_path / f"{kind}.parquet")
        assert result.rows_rejected == 0 and result.rows_ok == pl.read_parquet(tmp_path / f"{kind}.parquet").height
    recipients = import_enrollments(db, actor=ACTOR, path=tmp_path / "enrollments.csv", today=ref)
    assert recipients.rows_rejected == 0 and recipients.new == recipients.rows_total > 0
    truth = pl.read_parquet(tmp_path / "ground_truth.parquet")["below_line_declared"].mean()
    with_facts = _dibao_share(db, ref)
    assert isinstance(truth, float)
    # Without income nearly everyone looks eligible; with the declared facts the share is the ground truth's.
    assert without_facts > 0.8
    # The ground truth's share is the plain declared income against the household's 低保 line (its county's
    # standard in the policy pack, urban or rural); the engine also applies the property tests (vehicles,
    # business registrations, deposits), the employment-cost deduction and 单人户, which move a few households.
    assert abs(with_facts - truth) <= TOLERANCE, (with_facts, truth)
    # Memberships the ledger does not date count from before the import: an earlier date still has members.
    earlier = read_registry(db.connection(), on=date(2024, 6, 1))
    assert earlier.members.height > 0.9 * read_registry(db.connection(), on=ref).members.height
    assert db.scalar(select(func.count()).select_from(MigratedEnrollment)) == recipients.new
    findings = check_migrated(db, actor=ACTOR, on=ref)
    assert findings.height <= recipients.new and set(findings["program"].to_list()) <= {"dibao", "extreme_poverty"}


def test_export_imports_again_to_the_same_state(db: Session, tmp_path: Path) -> None:
    ref = _load(db, tmp_path, "370784", 150)
    for kind in KINDS:
        import_facts(db, actor=ACTOR, kind=kind, path=tmp_path / f"{kind}.parquet")
    import_enrollments(db, actor=ACTOR, path=tmp_path / "enrollments.csv", today=ref)
    out = tmp_path / "export"
    out.mkdir()
    for kind, suffix in zip(KINDS, (".parquet", ".csv", ".xlsx", ".csv"), strict=True):
        frame = facts_frame(db, actor=ACTOR, kind=kind)
        write_export(frame, out / f"{kind}{suffix}", kind)
        again = import_facts(db, actor=ACTOR, kind=kind, path=out / f"{kind}{suffix}")
        assert (again.rows_rejected, again.new, again.superseded, again.unchanged) == (0, 0, 0, frame.height)
    write_export(enrollments_frame(db, actor=ACTOR), out / "enrollments.xlsx", "保障对象")
    again_e = import_enrollments(db, actor=ACTOR, path=out / "enrollments.xlsx", today=ref)
    assert (again_e.rows_rejected, again_e.new, again_e.updated) == (0, 0, 0)
    write_export(households_frame(db, actor=ACTOR), out / "households.csv", "家庭档案")
    again_h = import_households(db, actor=ACTOR, path=out / "households.csv")
    assert again_h.rows_rejected == 0 and set(again_h.counts.values()) == {0}


def test_xlsx_export_names_the_sheet_row_limit(tmp_path: Path) -> None:
    rows = pl.DataFrame({"household_no": pl.int_range(1_048_576, eager=True).cast(pl.Utf8)})
    with pytest.raises(ImportFileError, match=r"XLSX 每个工作表最多 1,048,576 行（含表头），本次导出 1,048,576 行"):
        write_export(rows, tmp_path / "big.xlsx", "家庭档案")
    with pytest.raises(ImportFileError, match=r"不支持的导出格式 \.json"):
        write_export(rows.head(1), tmp_path / "x.json", "家庭档案")
