"""Write a generated county to disk in the documented formats (see README.md in this package)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from doudi.registry.import_read import COLUMNS
from doudi.synth.areas import real_parent_rows
from doudi.synth.caseload import current_recipients
from doudi.synth.income import months_back

if TYPE_CHECKING:
    from doudi.synth.generate import SynthConfig, World

# The registry import format (`doudi import households`): one row per person, household columns repeated.
HOUSEHOLD_COLUMNS = COLUMNS
CASELOAD_STREAM = 950  # the recipients' own random stream, apart from generate.STREAMS (no reshuffle of others)


def write_csv(frame: pl.DataFrame, path: Path) -> int:
    """Write a frame as UTF-8 CSV (ISO dates, two decimals, empty for null); returns its row count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path, date_format="%Y-%m-%d", float_precision=2, null_value="")
    return frame.height


def _parquet(frame: pl.DataFrame, path: Path) -> int:
    # Statistics off and one row group: the bytes depend only on the data, so same seed → same file.
    frame.write_parquet(path, compression="zstd", statistics=False, row_group_size=max(frame.height, 1))
    return frame.height


def registry_rows(world: World) -> pl.DataFrame:
    """households.csv: the registry as the civil-affairs office holds it (stale where it has not caught up)."""
    p = world.persons.join(
        world.households.select(
            "hh",
            "household_no",
            area_code="village_code",
            address="address",
            hukou_type="hukou_type",
            has_capable_supporter="has_capable_supporter",
            former_registered_poor="former_registered_poor",
        ),
        on="hh",
        how="left",
        maintain_order="left",
    ).sort("hh", "slot")
    flag = {True: "1", False: "0"}
    return p.select(
        "household_no",
        "area_code",
        "address",
        "hukou_type",
        "has_capable_supporter",
        pl.col("former_registered_poor").replace_strict(flag, return_dtype=pl.Utf8),
        "relation",
        "name",
        "id_number",
        "sex",
        "birth_date",
        phone=pl.when(pl.col("has_phone") & (pl.col("age") >= 16)).then(pl.col("phone")),
        disability_category=pl.col("disability_category"),
        disability_grade=pl.col("disability_grade"),
        serious_illness=pl.col("serious_illness").replace_strict(flag, return_dtype=pl.Utf8),
        self_care_unable_items=pl.col("self_care_unable_items"),
        labour_capacity=pl.col("labour_capacity"),
        student=pl.col("student").replace_strict(flag, return_dtype=pl.Utf8),
        employment=pl.col("employment"),
        child_status=pl.col("child_status"),
        date_of_death=pl.when(pl.col("death_in_registry")).then(pl.col("true_death_date")),
        member_exclusion=pl.col("member_exclusion"),
        lives_with_household=pl.col("lives_with_household").replace_strict(flag, return_dtype=pl.Utf8),
        schooling_stage=pl.col("schooling_stage"),
        no_civil_capacity=pl.col("no_civil_capacity").replace_strict(flag, return_dtype=pl.Utf8),
        extreme_poverty_supported=pl.col("extreme_poverty_supported").replace_strict(flag, return_dtype=pl.Utf8),
        dibao_recipient=pl.col("dibao_recipient").replace_strict(flag, return_dtype=pl.Utf8),
        support_mode=pl.col("support_mode"),
        supporters_elsewhere_able=pl.col("supporters_elsewhere_able"),
        supporters_elsewhere_unable=pl.col("supporters_elsewhere_unable"),
        supporters_elsewhere_unverified=pl.col("supporters_elsewhere_unverified"),
        member_since=pl.lit(None, pl.Utf8),  # the ledger does not date memberships: "before the import"
    )


def _keyed(frame: pl.DataFrame, world: World) -> pl.DataFrame:
    """Replace internal keys (hh, pid) by household_no and id_number."""
    out = frame.join(world.households.select("hh", "household_no"), on="hh", how="left", maintain_order="left")
    if "pid" in frame.columns:
        out = out.join(world.persons.select("pid", "id_number"), on="pid", how="left", maintain_order="left")
    return out


def write_base(world: World, out: Path, cfg: SynthConfig) -> dict[str, int]:
    """Write areas, the registry file, declared facts and ground truth; returns row counts by file."""
    out.mkdir(parents=True, exist_ok=True)
    if (out / "feeds").exists():
        shutil.rmtree(out / "feeds")  # never leave a feed from an earlier run beside this one's
    counts: dict[str, int] = {}
    ref = world.ref
    areas = pl.concat([real_parent_rows(cfg.region), world.areas.areas])
    counts["areas.csv"] = write_csv(areas, out / "areas.csv")
    counts["households.csv"] = write_csv(registry_rows(world), out / "households.csv")

    month_end = pl.col("period_start").dt.month_end()
    income = (
        _keyed(world.income_declared, world)
        .select(
            "household_no",
            "id_number",
            "kind",
            month=pl.col("month").dt.strftime("%Y-%m"),
            amount=pl.col("amount"),
            period_start=pl.col("month"),
        )
        .with_columns(period_end=month_end)
        .sort("household_no", "id_number", "kind", "month")
    )
    counts["income.parquet"] = _parquet(income, out / "income.parquet")
    assets = _keyed(world.assets_declared, world).select(
        "household_no", "id_number", "kind", "quantity", "value", "description", "exempt", "as_of", "certificate_no"
    )
    counts["assets.parquet"] = _parquet(assets, out / "assets.parquet")
    expenses = _keyed(world.expenses_true, world).select(
        "household_no",
        "id_number",
        "kind",
        amount=(pl.col("amount") / 10).round(0) * 10,
        period_start=pl.lit(months_back(ref, 12)[0]),
        period_end=pl.lit(ref),
    )
    counts["expenses.parquet"] = _parquet(expenses.filter(pl.col("amount") > 0), out / "expenses.parquet")
    living = _keyed(world.living, world).select("household_no", "kind", "value", observed_on=pl.lit(ref))
    counts["living.parquet"] = _parquet(living, out / "living.parquet")

    recipients = current_recipients(world.households, world.persons, world.truth_households, ref,
                                    np.random.default_rng([cfg.seed, CASELOAD_STREAM]))
    counts["enrollments.csv"] = write_csv(recipients, out / "enrollments.csv")

    counts["ground_truth.parquet"] = _parquet(world.truth_households, out / "ground_truth.parquet")
    counts["ground_truth_persons.parquet"] = _parquet(world.truth_persons, out / "ground_truth_persons.parquet")
    return counts
