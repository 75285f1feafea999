"""Registry → frames (SQL into Polars), stored assessment runs and the CLI on both backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.auth.permissions import system_actor
from doudi.policy.batch import run_assessment
from doudi.policy.models import AssessmentDecision, AssessmentMemberDecision, AssessmentRun
from doudi.policy.registry_frames import read_registry
from doudi.registry.models import AssetFact, ExpenseFact, Household, IncomeFact, Membership
from tests.factories import TOWN_A, TOWN_B, VILLAGE_A1, VILLAGE_B1, make_areas, make_household, make_person


def _income(session: Session, hh: Household, person_id: int | None, kind: str, amount: str, start: date, end: date,
            source: str = "declared", superseded_by: int | None = None) -> None:
    session.add(IncomeFact(household_id=hh.id, person_id=person_id, kind=kind, amount=Decimal(amount),
                           source_kind=source, period_start=start, period_end=end, superseded_by=superseded_by))


def _head(hh: Household) -> int:
    return next(m.person_id for m in hh.members if m.relation == "head")


def test_registry_frames_average_income_and_pick_the_best_source(db: Session) -> None:
    make_areas(db)
    hh = make_household(db, VILLAGE_A1, hukou="rural")
    head = _head(hh)
    spouse = make_person(db, "李秀英", date(1972, 3, 1), "F")
    db.add(Membership(household_id=hh.id, person_id=spouse.id, relation="spouse", valid_from=date(2020, 1, 1)))
    # Anqiu averages over 12 months (national default): window 2023-07-01 .. 2024-06-30 = 366 days.
    _income(db, hh, head, "wage", "1000", date(2024, 1, 1), date(2024, 6, 30))  # declared, overruled by the feed
    _income(db, hh, head, "wage", "900", date(2024, 1, 1), date(2024, 6, 30), source="feed")
    _income(db, hh, spouse.id, "wage", "5000", date(2024, 1, 1), date(2024, 6, 30), superseded_by=999)  # corrected
    _income(db, hh, spouse.id, "basic_pension", "150", date(2023, 1, 1), date(2024, 12, 31))
    _income(db, hh, None, "transfer", "366", date(2023, 7, 1), date(2024, 6, 30))  # household-level → head
    db.add(AssetFact(household_id=hh.id, kind="financial", value=Decimal("5000"), source_kind="declared",
                     period_start=date(2024, 1, 1), period_end=date(2024, 12, 31)))
    db.add(AssetFact(household_id=hh.id, kind="vehicle", quantity=1, exempt=True, source_kind="declared",
                     period_start=date(2024, 1, 1), period_end=date(2024, 12, 31)))
    db.add(ExpenseFact(household_id=hh.id, kind="medical", amount=Decimal("7300"), source_kind="investigated",
                       period_start=date(2023, 1, 1), period_end=date(2024, 12, 31)))
    db.flush()
    frames = read_registry(db.connection(), on=date(2024, 7, 1), household_ids=[hh.id])
    m = frames.members.sort("member_idx").to_dicts()
    assert [r["relation"] for r in m] == ["head", "spouse"]
    # wage: feed 900 × 182 days (Jan–Jun) / 366 days = 447.54; transfer 366 over the whole window = 366.
    assert m[0]["wage"] == 447.54 and m[0]["transfer"] == 366.0
    assert m[1]["wage"] == 0.0 and m[1]["basic_pension"] == 150.0
    h = frames.households.to_dicts()[0]
    assert h["financial_assets"] == 5000.0 and h["vehicles"] == 0  # the exempt vehicle is not counted
    # 7300 over 731 days (2023–2024); 366 of them in the 12 months before 2024-07-01:
    # 7300 × 366 / 731 = 2671800 / 731 = 3654.99.
    assert h["exp_medical"] == 3654.99
    assert h["urban"] is False
    # Nothing is guessed in the reader: supporters elsewhere not recorded stay unknown (the engine says 待核实).
    assert h["has_capable_supporter"] is None and m[0]["ext_able"] is None
    assert h["receiving_dibao"] is False and m[0]["extreme_poverty_supported"] is False


def test_jiangmen_averages_over_six_months(db: Session) -> None:
    make_areas(db)
    from doudi.areas.service import AreaRow, upsert_areas

    upsert_areas(db, rows=[AreaRow("440703001", "白沙街道", True, "synthetic")])
    hh = make_household(db, "440703001", hukou="urban")
    # Guangdong: the 6 months before 2024-07-01 are 2024-01-01 .. 2024-06-30 (182 days).
    _income(db, hh, _head(hh), "wage", "1200", date(2024, 1, 1), date(2024, 6, 30))
    _income(db, hh, _head(hh), "business", "600", date(2023, 7, 1), date(2023, 12, 31))  # outside the window
    db.flush()
    frames = read_registry(db.connection(), on=date(2024, 7, 1), household_ids=[hh.id])
    row = frames.members.to_dicts()[0]
    assert row["wage"] == 1200.0 and row["business"] == 0.0


def _population(session: Session) -> tuple[Household, Household]:
    make_areas(session)
    poor = make_household(session, VILLAGE_A1, hukou="rural", members=[("李秀英", "spouse", date(1981, 1, 1), "F")])
    _income(session, poor, _head(poor), "wage", "1300", date(2023, 1, 1), date(2024, 12, 31))  # covers the window
    elderly = make_household(session, VILLAGE_B1, head_name="张大爷", hukou="rural")
    head = session.get(Membership, elderly.members[0].id).person  # type: ignore[union-attr]
    head.birth_date = date(1940, 1, 1)
    head.self_care_unable_items = 5
    head.support_mode = "dispersed"  # 安丘's home-care hours go to dispersed 特困 persons only
    elderly.has_capable_supporter = False
    session.flush()
    return poor, elderly


def test_assessment_run_stores_every_decision(fresh_database) -> None:  # type: ignore[no-untyped-def]
    with Session(fresh_database.engine) as session:
        poor, elderly = _population(session)
        session.commit()
        frames = read_registry(session.connection(), on=date(2024, 7, 1))
        run = run_assessment(session, actor=system_actor(name="test"), frames=frames, on=date(2024, 7, 1),
                             source="registry")
        session.commit()
        assert session.scalar(select(func.count()).select_from(AssessmentDecision)) == 2 * 8
        rows = {(d.household_id, d.program): d for d in session.scalars(select(AssessmentDecision))}
        # poor: (1300 − 200) / 2 = 550 ≥ 537 → not 低保; < 1.5 × 537 = 805.5 → 边缘.
        assert not rows[(poor.id, "dibao")].eligible and rows[(poor.id, "dibao_marginal")].eligible
        assert "income_above_standard" in rows[(poor.id, "dibao")].reasons.split(",")
        # elderly: 84, no supporter, no income → 特困 960 + 500 (full care, 5 items) = 1460.
        ep = rows[(elderly.id, "extreme_poverty")]
        assert ep.eligible and ep.monthly_amount == Decimal("1460.00") and ep.level == "full"
        assert rows[(elderly.id, "dibao")].pack_version == run.pack_versions["370784"]
        member = session.scalars(select(AssessmentMemberDecision).where(
            AssessmentMemberDecision.program == "extreme_poverty")).one()
        assert member.care_hours == Decimal("32.0") and member.household_id == elderly.id
        assert run.summary["extreme_poverty"]["monthly_cost"] == 1460.0
        assert session.scalars(select(AuditEntry.action).where(AuditEntry.action == "assessment.run")).one()


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOUDI_DATABASE_URL": db_url, "DOUDI_SECRET_KEY": "test"}
    return subprocess.run([sys.executable, "-m", "doudi", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_cli_assess_and_simulate(fresh_database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Session(fresh_database.engine) as session:
        _population(session)
        session.commit()
    out = _cli(fresh_database.url, "assess", "--date", "2024-07-01", "--export-snapshot", str(tmp_path / "snap"))
    assert out.returncode == 0, out.stderr
    assert "2 户" in out.stdout
    assert "最低生活保障" in out.stdout and "{" not in out.stdout and "dibao " not in out.stdout  # words, not keys
    with Session(fresh_database.engine) as session:
        assert session.scalar(select(func.count()).select_from(AssessmentRun)) == 1
    # Raising the rural standard to 600: the poor household (550 per person) enters 低保 with
    # 600 × 2 − 1100 = 100 yuan and leaves 边缘; the 特困 amount stays max(960, 1.3 × 600 = 780) + 500.
    sim = _cli(fresh_database.url, "simulate", "--set", "dibao.standard.rural=600", "--date", "2024-07-01", "--json")
    assert sim.returncode == 0, sim.stderr
    report = json.loads(sim.stdout)
    by_program = {r["program"]: r for r in report["by_program"]}
    assert (by_program["dibao"]["delta_households"], by_program["dibao"]["delta_persons"],
            by_program["dibao"]["delta_monthly_cost"]) == (1, 2, 100.0)
    assert by_program["dibao_marginal"]["delta_households"] == -1
    assert by_program["extreme_poverty"]["delta_monthly_cost"] == 0.0
    town = {(r["township"], r["program"]): r for r in report["by_township"]}
    assert town[(TOWN_A, "dibao")]["delta_households"] == 1 and town[(TOWN_B, "dibao")]["delta_households"] == 0
    # The same from the Parquet snapshot written by `assess`.
    snap = _cli(fresh_database.url, "simulate", "--set", "dibao.standard.rural=600", "--date", "2024-07-01",
                "--snapshot", str(tmp_path / "snap"), "--json")
    assert json.loads(snap.stdout)["by_program"] == report["by_program"]
    # --area on a snapshot as on the registry: township B holds only the 特困 household (no 低保 change), and the
    # city 370700 (prefix 3707) holds both.
    town_b = json.loads(_cli(fresh_database.url, "simulate", "--set", "dibao.standard.rural=600", "--date",
                             "2024-07-01", "--snapshot", str(tmp_path / "snap"), "--area", TOWN_B, "--json").stdout)
    assert {r["township"] for r in town_b["by_township"]} == {TOWN_B}
    assert {r["program"]: r["delta_households"] for r in town_b["by_program"]}["dibao"] == 0
    city = _cli(fresh_database.url, "simulate", "--set", "dibao.standard.rural=600", "--date", "2024-07-01",
                "--snapshot", str(tmp_path / "snap"), "--area", "370700", "--json")
    assert json.loads(city.stdout)["by_program"] == report["by_program"]
    table = _cli(fresh_database.url, "simulate", "--set", "dibao.standard.rural=600", "--date", "2024-07-01")
    assert "按乡镇" in table.stdout and "+100.00" in table.stdout
    assert "最低生活保障·标准·农村 调整为 600" in table.stdout and "dibao" not in table.stdout


def test_cli_simulate_rejects_bad_overrides(fresh_database) -> None:  # type: ignore[no-untyped-def]
    out = _cli(fresh_database.url, "simulate", "--set", "dibao.standard.rural=abc", "--set", "nonsense",
               "--date", "2024-07-01")
    assert out.returncode == 2
    assert "dibao.standard.rural" in out.stderr and "nonsense" in out.stderr and "Traceback" not in out.stderr


def test_households_of_regions_without_a_pack_are_reported_not_dropped(fresh_database) -> None:  # type: ignore[no-untyped-def]
    from doudi.areas.service import AreaRow, upsert_areas

    with Session(fresh_database.engine) as session:
        make_areas(session)
        upsert_areas(session, rows=[AreaRow("370702", "潍城区", True, "synthetic")])
        make_household(session, VILLAGE_A1, hukou="rural")
        elsewhere = make_household(session, "370702", hukou="urban")
        session.commit()
        frames = read_registry(session.connection(), on=date(2024, 7, 1))
        run = run_assessment(session, actor=system_actor(name="test"), frames=frames, on=date(2024, 7, 1),
                             source="registry")
        session.commit()
        assert run.households == 1
        assert run.summary["skipped"]["households"] == 1
        assert run.summary["skipped"]["household_ids"] == [elsewhere.id]
        assert "dibao.standard.urban" in run.summary["skipped"]["reasons"][0]
        assert session.scalar(select(func.count()).select_from(AssessmentDecision)) == 8


def test_a_one_month_investigated_figure_replaces_only_that_month(db: Session) -> None:
    make_areas(db)
    hh = make_household(db, VILLAGE_A1, hukou="rural")
    head = _head(hh)
    # Window (安丘, 12 months) 2023-07-01 .. 2024-06-30 = 366 days. The tax feed shows 2,000 yuan a month all year;
    # a home visit found no wage in March 2024 (31 days). Best source per month: feed for 335 days, the visit
    # for 31 days → 2000 × 335 / 366 = 1,830.60 yuan a month (not 0, which ranking over the whole year gave).
    _income(db, hh, head, "wage", "2000", date(2023, 7, 1), date(2024, 6, 30), source="feed")
    _income(db, hh, head, "wage", "0", date(2024, 3, 1), date(2024, 3, 31), source="investigated")
    # Medical costs: a feed of 3,660 over the year (10 a day); an investigated 1,000 for June only (30 days)
    # replaces the feed's 300 for June.
    db.add(ExpenseFact(household_id=hh.id, kind="medical", amount=Decimal("3660"), source_kind="feed",
                       period_start=date(2023, 7, 1), period_end=date(2024, 6, 30)))
    db.add(ExpenseFact(household_id=hh.id, kind="medical", amount=Decimal("1000"), source_kind="investigated",
                       period_start=date(2024, 6, 1), period_end=date(2024, 6, 30)))
    db.flush()
    frames = read_registry(db.connection(), on=date(2024, 7, 1), household_ids=[hh.id])
    head_row = frames.members.filter(frames.members["person_id"] == head).row(0, named=True)
    assert head_row["wage"] == 1830.60
    # 3,660 over 366 days = 10 a day; June's 30 days (300) give way to the visit's 1,000: 3,660 − 300 + 1,000.
    assert frames.households.row(0, named=True)["exp_medical"] == 4360.0


def test_a_registry_household_evaluated_alone_equals_its_stored_decision(fresh_database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`doudi assess` over a synthetic county, then every household on its own through the single-case path:
    the same eligibility, amount, level, persons and reason codes for every program, and the same entitlements."""
    from doudi.areas.service import parse_division_file, upsert_areas
    from doudi.policy.service import evaluate_registry_household
    from doudi.registry.facts_import import import_facts
    from doudi.registry.importer import import_households
    from doudi.synth.generate import SynthConfig, generate

    on = date(2026, 11, 2)
    out = tmp_path / "county"
    generate(SynthConfig(region="370784", households=160, seed=11, as_of=date(2026, 10, 31), feeds=False), out,
             show_progress=False)
    actor = system_actor(name="test")
    with Session(fresh_database.engine) as session:
        upsert_areas(session, rows=parse_division_file(out / "areas.csv"))
        session.flush()
        assert import_households(session, actor=actor, path=out / "households.csv", today=on).rows_rejected == 0
        for kind, name in (("income", "income.parquet"), ("assets", "assets.parquet"),
                           ("expenses", "expenses.parquet"), ("living", "living.parquet")):
            import_facts(session, actor=actor, kind=kind, path=out / name)
        session.commit()
        frames = read_registry(session.connection(), on=on)
        # In household order, members too: a snapshot of the registry is read in slices (doudi.scale.slices).
        assert frames.households["household_id"].is_sorted() and frames.members["household_id"].is_sorted()
        run = run_assessment(session, actor=actor, frames=frames, on=on, source="registry")
        session.commit()
        stored = {(d.household_id, d.program): d for d in session.scalars(
            select(AssessmentDecision).where(AssessmentDecision.run_id == run.id))}
        entitled = {(m.household_id, m.member_idx, m.program): m for m in session.scalars(
            select(AssessmentMemberDecision).where(AssessmentMemberDecision.run_id == run.id))}
        households = sorted({hid for hid, _ in stored})
        assert len(households) >= 160
        eligible_programs: set[str] = set()
        for hid in households:
            alone = evaluate_registry_household(session, actor=actor, household_id=hid, on=on)
            for key, decision in alone["programs"].items():
                row = stored[(hid, key)]
                codes = {r["code"] for r in decision["reasons"]} - {"none"}
                assert (decision["eligible"], Decimal(str(decision["monthly_amount"])).quantize(Decimal("0.01")),
                        decision["level"], decision["persons"], codes) == (
                    row.eligible, row.monthly_amount, row.level, row.persons,
                    set(filter(None, row.reasons.split(",")))), f"household {hid}, {key}"
                if decision["eligible"]:
                    eligible_programs.add(key)
                for m in decision.get("members") or []:
                    kept = entitled.get((hid, m["member_index"], key))
                    assert m["eligible"] == (kept is not None), f"household {hid}, {key}, member {m['member_index']}"
                    if kept is not None:
                        assert Decimal(str(m["monthly_amount"])).quantize(Decimal("0.01")) == kept.monthly_amount
        # The county is varied enough for the comparison to mean something.
        assert {"dibao", "extreme_poverty", "disability_subsidies"} <= eligible_programs
