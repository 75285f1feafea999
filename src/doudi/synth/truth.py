"""The truth as registry files, for scoring decisions against it (targeting accuracy), and the share of income
no agency feed can see.

`write_truth(world, seed, out)` writes under `out/truth/`, in the same import formats as the declared files:

- `households.csv`: the registry as it would be if the office knew everything: every death of the year recorded,
  members who moved out of the county gone;
- `income.parquet`: every member's true monthly income (`source=declared`, so the same import reads it) and, as
  `source=investigated`, the **floor** figures: the true amount where some feed reports that income, what the
  household declared where none does (an investigated fact outranks a declared one for the same person, kind and
  month, so reading every source gives the floor, reading declared facts only gives the truth);
- `assets.parquet`: every holding at its true value (nothing hidden);
- `visibility.parquet`: per household, counted income a month: true, seen by a feed, invisible to every feed,
  and invisible *and* not declared (what no verification can find).

Income invisible to every feed (see README.md, "Income no feed can see"): cash wages of informal work
(`informal_wage`), farming (`farming`), support from relatives (`family_support`), the income of registered
individual businesses that file no tax return (40 % of them) and untaxed rent (70 % of landlords). The files
written by `generate` are not changed: this module only reads the generated world (the tax feed is drawn again
from its own random stream, before noise, to know who files).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import polars as pl

from doudi.synth import declared, feeds, writer
from doudi.synth.generate import STREAMS, World
from doudi.synth.income import COUNTED_KINDS

INVISIBLE_CHANNELS = ("informal_wage", "farming", "family_support")  # never in any feed
SOCIAL_INSURANCE_CHANNELS = ("retirement_pension", "basic_pension", "unemployment_benefit")  # paid, so reported
TAX_CHANNELS = {"wage": "tax_wage", "business": "business_registered", "property": "rent"}
FLOOR_INVESTIGATOR = "核对可及上限"


def _feed_world(world: World) -> feeds.World:
    return feeds.World(world.params, world.ref, world.households, world.persons, world.income_true, world.assets,
                       world.medical, world.school)


def visible_income(world: World, seed: int) -> pl.DataFrame:
    """world.income_true with `visible`: whether some agency feed reports that income (tax or social insurance)."""
    i = list(feeds.BUILDERS).index("tax")
    tax = feeds.tax(_feed_world(world), np.random.default_rng([seed, len(STREAMS) + i]))
    filed = tax.select("pid", channel=pl.col("income_kind").replace_strict(TAX_CHANNELS)).unique()
    inc = world.income_true.join(filed.with_columns(taxed=pl.lit(True)), on=["pid", "channel"], how="left",
                                 maintain_order="left")
    return inc.with_columns(visible=pl.col("taxed").fill_null(False)
                            | pl.col("channel").is_in(SOCIAL_INSURANCE_CHANNELS)).drop("taxed")


def truth_registry(world: World) -> pl.DataFrame:
    """households.csv as the truth: every death recorded, movers out of the county gone."""
    persons = world.persons.with_columns(death_in_registry=pl.lit(True)).filter(~pl.col("moved_out"))
    return writer.registry_rows(dataclasses.replace(world, persons=persons))


def _income_rows(world: World, frame: pl.DataFrame) -> pl.DataFrame:
    return writer._keyed(frame, world).select(
        "household_no", "id_number", "kind", month=pl.col("month").dt.strftime("%Y-%m"), amount=pl.col("amount"))


def write_truth(world: World, seed: int, out: Path) -> dict[str, int]:
    """Write the truth files under `out/truth/`; returns rows per file."""
    target = out / "truth"
    target.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    registry = truth_registry(world)
    counts["truth/households.csv"] = writer.write_csv(registry, target / "households.csv")
    present = world.persons.filter(~pl.col("moved_out")).select("pid")
    inc = visible_income(world, seed).join(present, on="pid", how="semi")
    said = world.income_declared.group_by("pid", "kind", "channel", "month").agg(pl.col("amount").sum())
    inc = inc.join(said.rename({"amount": "declared"}), on=["pid", "kind", "channel", "month"], how="left",
                   maintain_order="left").with_columns(pl.col("declared").fill_null(0.0))
    truth = _income_rows(world, inc).with_columns(source=pl.lit("declared"))
    floor = _income_rows(world, inc.with_columns(
        amount=pl.when(pl.col("visible")).then(pl.col("amount")).otherwise(pl.col("declared")))).with_columns(
        source=pl.lit("investigated"), investigator=pl.lit(FLOOR_INVESTIGATOR), investigated_on=pl.lit(world.ref))
    income = pl.concat([truth, floor], how="diagonal_relaxed").sort("household_no", "id_number", "kind", "month",
                                                                     "source")
    counts["truth/income.parquet"] = writer._parquet(income, target / "income.parquet")
    n = world.households.height
    nothing_hidden = pl.DataFrame({"hh": np.arange(n), "hidden_car": False, "hidden_deposit": False,
                                   "deposit_fraction": 1.0, "hidden_property": False, "hidden_business": False})
    assets = declared.declared_assets(world.assets, nothing_hidden, world.provident, world.ref)
    assets = writer._keyed(assets.join(present, on="pid", how="semi"), world).select(
        "household_no", "id_number", "kind", "quantity", "value", "description", "exempt", "as_of", "certificate_no")
    counts["truth/assets.parquet"] = writer._parquet(assets, target / "assets.parquet")
    months = max(int(world.params.get("_income_months", 6)), 1)
    counted = inc.filter(pl.col("kind").is_in(COUNTED_KINDS))
    vis = counted.group_by("hh").agg(
        true_income=pl.col("amount").sum() / months,
        visible_income=pl.col("amount").filter(pl.col("visible")).sum() / months,
        invisible_income=pl.col("amount").filter(~pl.col("visible")).sum() / months,
        invisible_undeclared=(pl.col("amount") - pl.col("declared")).clip(lower_bound=0)
        .filter(~pl.col("visible")).sum() / months)
    vis = writer._keyed(vis, world).select("household_no", pl.exclude("hh", "household_no").round(2)).sort(
        "household_no")
    counts["truth/visibility.parquet"] = writer._parquet(vis, target / "visibility.parquet")
    return counts
