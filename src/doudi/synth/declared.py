"""What households declare (the registry's fact files) and what is really true (the ground truth).

Declared facts are what a caseworker records from the household's own statement: round figures, and for
a documented share of households a hidden car, deposit, second property or business, or under-declared
wages. The ground truth records each household's real circumstances and every discrepancy, so
verification (核对) and assessment can be scored against it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import polars as pl

from doudi.synth.assets import Assets
from doudi.synth.income import COUNTED_KINDS


def hiding_flags(
    params: dict[str, Any], assets: Assets, levels: pl.DataFrame, rng: np.random.Generator
) -> pl.DataFrame:
    """Per household: which holdings it keeps out of its declaration."""
    ud = params["under_declaration"]
    n = levels.height
    mult = np.where((levels["target_pc"] < 2 * levels["line"]).to_numpy(), float(ud["near_line_multiplier"]), 1.0)

    def owns(frame: pl.DataFrame) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        out[frame["hh"].unique().to_numpy()] = True
        return out

    cars = owns(assets.vehicles.filter(pl.col("vehicle_type") == "car"))
    big_deposit = np.zeros(n)
    dep = assets.bank.group_by("hh").agg(pl.col("balance").sum())
    big_deposit[dep["hh"].to_numpy()] = dep["balance"].to_numpy()
    multi = assets.property.unique("prop_no").group_by("hh").agg(pl.len().alias("k")).filter(pl.col("k") >= 2)
    biz = owns(assets.business.filter(pl.col("status") == "active"))
    lo, hi = ud["hide_deposit_fraction"]
    return pl.DataFrame(
        {
            "hh": np.arange(n),
            "hidden_car": cars & (rng.random(n) < np.clip(float(ud["hide_car_rate"]) * mult, 0, 1)),
            "hidden_deposit": (big_deposit > 20_000)
            & (rng.random(n) < np.clip(float(ud["hide_deposit_rate"]) * mult, 0, 1)),
            "deposit_fraction": lo + (hi - lo) * rng.random(n),
            "hidden_property": owns(multi) & (rng.random(n) < float(ud["hide_extra_property_rate"])),
            "hidden_business": biz & (rng.random(n) < float(ud["hide_business_rate"])),
        }
    )


def declared_assets(assets: Assets, flags: pl.DataFrame, provident: pl.DataFrame, ref: date) -> pl.DataFrame:
    """Asset facts as declared: hh, pid, kind, quantity, value, description, exempt, certificate_no (property)."""
    f = flags.select("hh", "hidden_car", "hidden_deposit", "deposit_fraction", "hidden_property", "hidden_business")
    bank = assets.bank.join(f, on="hh", maintain_order="left").select(
        "hh",
        "pid",
        kind=pl.lit("financial"),
        quantity=pl.lit(1),
        value=(
            pl.when(pl.col("hidden_deposit"))
            .then(pl.col("balance") * pl.col("deposit_fraction"))
            .otherwise(pl.col("balance"))
            / 100
        ).round(0)
        * 100,
        description=pl.col("institution")
        + " "
        + pl.col("product").replace(
            {
                "deposit": "存款",
                "wealth_management": "理财",
                "fund": "基金",
                "securities": "证券",
                "insurance": "商业保险",
            }
        ),
        exempt=pl.lit(False),
    )
    props = assets.property.sort("prop_no", "share", descending=[False, True]).unique("prop_no", keep="first")
    props = props.join(f, on="hh", maintain_order="left").filter(~(pl.col("hidden_property") & ~pl.col("first_home")))
    prop = props.select(
        "hh",
        "pid",
        kind=pl.when(pl.col("property_use") == "residential")
        .then(pl.lit("residential_property"))
        .otherwise(pl.lit("non_residential_property")),
        quantity=pl.lit(1),
        value=pl.col("value"),
        description=pl.format(
            "{} {}㎡ {}",
            pl.when(pl.col("property_use") == "residential").then(pl.lit("住房")).otherwise(pl.lit("商铺")),
            pl.col("floor_area"),
            pl.col("location"),
        ),
        exempt=pl.lit(False),
        certificate_no=pl.col("certificate_no"),
    )
    types = {
        "car": "小汽车",
        "truck": "货车",
        "van": "面包车",
        "motorcycle": "摩托车",
        "e_bike": "电动自行车",
        "disabled_mobility": "残疾人机动轮椅车",
        "vessel": "船舶",
    }
    veh = (
        assets.vehicles.join(f, on="hh", maintain_order="left")
        .filter(~(pl.col("hidden_car") & (pl.col("vehicle_type") == "car")))
        .select(
            "hh",
            "pid",
            kind=pl.lit("vehicle"),
            quantity=pl.lit(1),
            value=pl.col("estimated_value"),
            description=pl.col("vehicle_type").replace(types) + " " + pl.col("plate_no"),
            # Not counted as property: disabled people's mobility vehicles, motorcycles and e-bikes (RULES §2,
            # the same list as verification's EXEMPT_VEHICLES).
            exempt=pl.col("vehicle_type").is_in(["disabled_mobility", "motorcycle", "e_bike"]),
        )
    )
    biz = (
        assets.business.filter(pl.col("status") == "active")
        .join(f, on="hh", maintain_order="left")
        .filter(~pl.col("hidden_business"))
    )
    biz = biz.select(
        "hh",
        "pid",
        kind=pl.lit("business_registration"),
        quantity=pl.lit(1),
        value=pl.col("registered_capital"),
        description=pl.col("entity_name") + " " + pl.col("credit_code"),
        exempt=pl.lit(False),
    )
    pf = provident.select(
        "hh",
        "pid",
        kind=pl.lit("provident_fund"),
        quantity=pl.lit(1),
        value=pl.col("balance"),
        description=pl.lit("住房公积金账户余额"),
        exempt=pl.lit(False),
    )
    out = pl.concat([bank, prop, veh, biz, pf], how="diagonal_relaxed")
    return out.with_columns(pl.col("quantity").cast(pl.Int64), pl.col("value").round(2), as_of=pl.lit(ref)).sort(
        "hh", "kind", "pid", "description", "value"
    )


def ground_truth(
    params: dict[str, Any],
    hh: pl.DataFrame,
    persons: pl.DataFrame,
    levels: pl.DataFrame,
    income: pl.DataFrame,
    declared_income: pl.DataFrame,
    assets: Assets,
    declared: pl.DataFrame,
    expenses: pl.DataFrame,
    flags: pl.DataFrame,
    months: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(household truth, person truth) frames."""
    counted = pl.col("kind").is_in(COUNTED_KINDS)
    true_inc = income.filter(counted).group_by("hh").agg(true_income_total=pl.col("amount").sum() / months)
    decl_inc = declared_income.filter(counted).group_by("hh").agg(declared_income_total=pl.col("amount").sum() / months)
    sizes = persons.group_by("hh").agg(
        registered_size=pl.len(),
        counted_size_registry=pl.col("counted_registry").sum(),
        counted_size_true=pl.col("counted_true").sum(),
        unreported_deaths=(pl.col("true_death_date").is_not_null() & ~pl.col("death_in_registry")).sum(),
        moved_out_members=pl.col("moved_out").sum(),
    )
    fin = assets.bank.group_by("hh").agg(financial_assets_true=pl.col("balance").sum())
    fin_d = (
        declared.filter(pl.col("kind") == "financial")
        .group_by("hh")
        .agg(financial_assets_declared=pl.col("value").sum())
    )
    props = (
        assets.property.unique("prop_no")
        .group_by("hh")
        .agg(
            n_residential_true=(pl.col("property_use") == "residential").sum(),
            n_non_residential_true=(pl.col("property_use") != "residential").sum(),
        )
    )
    cars = assets.vehicles.group_by("hh").agg(n_cars_true=pl.col("vehicle_type").is_in(["car", "truck", "van"]).sum())
    biz = assets.business.filter(pl.col("status") == "active").group_by("hh").agg(active_business_true=pl.len() > 0)
    rigid = expenses.group_by("hh").agg(rigid_expense_12m_true=pl.col("amount").sum())
    gt = hh.select(
        "hh",
        "household_no",
        area_code="village_code",
        hukou_type="hukou_type",
        template="template",
        institution="institution",
    )
    for frame in (sizes, true_inc, decl_inc, fin, fin_d, props, cars, biz, rigid):
        gt = gt.join(frame, on="hh", how="left", maintain_order="left")
    gt = gt.join(
        levels.select("hh", dibao_line="line", in_low_income_tail="tail"), on="hh", how="left", maintain_order="left"
    )
    gt = gt.join(flags, on="hh", how="left", maintain_order="left").drop("deposit_fraction")
    zero_cols = [
        "true_income_total",
        "declared_income_total",
        "financial_assets_true",
        "financial_assets_declared",
        "n_residential_true",
        "n_non_residential_true",
        "n_cars_true",
        "rigid_expense_12m_true",
    ]
    gt = (
        gt.with_columns([pl.col(c).fill_null(0) for c in zero_cols])
        .with_columns(
            pl.col("active_business_true").fill_null(False),
            true_income_pc=(pl.col("true_income_total") / pl.col("counted_size_true").clip(lower_bound=1)).round(2),
            declared_income_pc=(
                pl.col("declared_income_total") / pl.col("counted_size_registry").clip(lower_bound=1)
            ).round(2),
        )
        .with_columns(
            below_line_true=pl.col("true_income_pc") < pl.col("dibao_line"),
            below_line_declared=pl.col("declared_income_pc") < pl.col("dibao_line"),
        )
    )
    pinc = income.filter(counted).group_by("pid").agg(true_income_monthly=(pl.col("amount").sum() / months).round(2))
    pdec = (
        declared_income.filter(counted)
        .group_by("pid")
        .agg(declared_income_monthly=(pl.col("amount").sum() / months).round(2))
    )
    people = (
        persons.join(hh.select("hh", "household_no"), on="hh", how="left", maintain_order="left")
        .join(pinc, on="pid", how="left", maintain_order="left")
        .join(pdec, on="pid", how="left", maintain_order="left")
        .select(
            "id_number",
            "household_no",
            "name",
            "sex",
            "birth_date",
            "age",
            "relation",
            "hukou_type",
            "true_death_date",
            "death_in_registry",
            "moved_out",
            "member_exclusion",
            "counted_true",
            "counted_registry",
            "disability_category",
            "disability_grade",
            "serious_illness",
            "self_care_unable_items",
            "labour_capacity",
            "student",
            "school_stage",
            "employment",
            "self_employed",
            "insured",
            "provident",
            "child_status",
            pl.col("true_income_monthly").fill_null(0.0),
            pl.col("declared_income_monthly").fill_null(0.0),
        )
    )
    return gt.drop("hh").sort("household_no"), people
