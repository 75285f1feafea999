"""The synthetic county's additions for the accuracy study: the under-declaration scale changes only who hides,
the truth files say what the registry would hold if it knew everything, and a jointly owned home found by the
real-estate feed is one holding of the household."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from doudi.synth.generate import SynthConfig, build_world
from doudi.synth.truth import INVISIBLE_CHANNELS, visible_income, write_truth
from doudi.verification.facts import feed_facts

FLAGS = ["under_declared_wage", "under_declared_business", "hidden_car", "hidden_deposit", "hidden_property",
         "hidden_business"]


def test_scale_changes_only_who_hides() -> None:
    base = build_world(SynthConfig(households=300, seed=5))
    honest = build_world(SynthConfig(households=300, seed=5, under_declaration_scale=0.0))
    double = build_world(SynthConfig(households=300, seed=5, under_declaration_scale=2.0))
    # Same people, same true income: the scale draws nothing of its own.
    assert honest.persons["id_number"].equals(base.persons["id_number"])
    assert honest.income_true.equals(base.income_true)
    assert honest.truth_households.select(FLAGS).sum().row(0) == (0,) * len(FLAGS)
    # Twice the rates: every household that hid at 1× still hides (the same uniform draw under a higher bar).
    for flag in FLAGS:
        once, twice = base.truth_households[flag], double.truth_households[flag]
        assert bool((once & ~twice).sum() == 0) and int(twice.sum()) >= int(once.sum())


def test_truth_files(tmp_path: Path) -> None:
    world = build_world(SynthConfig(households=300, seed=5))
    counts = write_truth(world, 5, tmp_path)
    assert set(counts) == {"truth/households.csv", "truth/income.parquet", "truth/assets.parquet",
                           "truth/visibility.parquet"}
    registry = pl.read_csv(tmp_path / "truth" / "households.csv", infer_schema_length=0)
    died = world.persons.filter(pl.col("true_death_date").is_not_null())
    moved = world.persons.filter(pl.col("moved_out"))
    recorded = registry.filter(pl.col("date_of_death").is_not_null())["id_number"].sort()
    assert recorded.to_list() == died["id_number"].sort().to_list()  # every death, known or not, is recorded
    assert not set(moved["id_number"].to_list()) & set(registry["id_number"].to_list())
    income = pl.read_parquet(tmp_path / "truth" / "income.parquet")
    truth = income.filter(pl.col("source") == "declared")
    floor = income.filter(pl.col("source") == "investigated")
    assert truth.height == floor.height and floor["investigator"].is_not_null().all()
    # The floor equals the truth where a feed reports the income, and the declaration where none does.
    vis = visible_income(world, 5)
    assert vis.filter(pl.col("channel").is_in(INVISIBLE_CHANNELS))["visible"].sum() == 0
    assert vis.filter(pl.col("channel") == "tax_wage")["visible"].all()
    v = pl.read_parquet(tmp_path / "truth" / "visibility.parquet")
    assert (v["true_income"] - v["visible_income"] - v["invisible_income"]).abs().max() < 0.02  # type: ignore[operator]
    assert (v["invisible_undeclared"] <= v["invisible_income"] + 0.01).all()
    assert float(v["invisible_income"].sum()) > 0


def test_joint_home_is_one_holding() -> None:
    # A couple (persons 1 and 2 of household 10) owns one home: the feed lists it once per owner.
    home = {"certificate_no": "鲁(2024)安丘市不动产权第0000001号", "property_use": "residential", "floor_area": 90.0,
            "location": "新安街道", "registered_on": date(2024, 5, 1), "share": 0.5}
    rows = pl.DataFrame({"person_id": [1, 2], "source_key": ["real_estate"] * 2, "batch_id": [7, 7],
                         "row_number": [3, 4], "period": [date(2024, 5, 1)] * 2})
    feed = {"real_estate": pl.concat([rows, pl.DataFrame([home, dict(home)])], how="horizontal")}
    members = pl.DataFrame({"person_id": [1, 2], "household_id": [10, 10]})
    facts = feed_facts(feed, members, as_of=date(2026, 11, 1))
    assert facts.height == 1 and facts["kind"].to_list() == ["residential_property"]
    assert facts["quantity"].to_list() == [1]
