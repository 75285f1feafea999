"""Agency feeds built from the TRUE circumstances, one frame per source declared in verification/sources.yaml.

Each feed row names a person (pid) and carries the source's own columns; `finish` adds the declared
person columns, shuffles the rows (agencies do not list people in registry order), numbers them
(`record_id` = `<source>-<row_number>`), applies the controlled noise and keeps exactly the declared
columns, `record_id` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from doudi.registry.vocab import LABELS
from doudi.synth.assets import Assets
from doudi.synth.noise import apply_noise
from doudi.verification.sources import load_sources

DISABILITY_DIGIT = {
    "visual": "1",
    "hearing": "2",
    "speech": "3",
    "physical": "4",
    "intellectual": "5",
    "mental": "6",
    "multiple": "7",
}


@dataclass
class World:
    """Everything the feeds are drawn from (true values)."""

    params: dict[str, Any]
    ref: date
    households: pl.DataFrame
    persons: pl.DataFrame
    income: pl.DataFrame  # true monthly rows: pid, hh, kind, channel, month, amount
    assets: Assets
    medical: pl.DataFrame
    school: pl.DataFrame


def _month(col: str) -> pl.Expr:
    return pl.col(col).dt.strftime("%Y-%m")


def hukou(w: World, rng: np.random.Generator) -> pl.DataFrame:
    """户籍: every person; cancelled on death, moved_out when they left the county."""
    p = w.persons.join(
        w.households.select("hh", "village_code", "hukou_type", "police_no"), on="hh", how="left", maintain_order="left"
    )
    n = p.height
    routine = pl.Series(np.datetime64(w.ref, "D") - rng.integers(30, 3000, size=n).astype("timedelta64[D]"))
    known_dead = p["true_death_date"].is_not_null()  # cancelled on death; staleness is added as logged noise
    return p.select(
        "pid",
        hukou_area_code=pl.col("village_code"),
        hukou_no=pl.col("police_no"),
        relation=pl.col("relation").replace(LABELS),
        hukou_type=pl.col("hukou_type"),
        status=pl.when(known_dead)
        .then(pl.lit("cancelled"))
        .when(pl.col("moved_out"))
        .then(pl.lit("moved_out"))
        .otherwise(pl.lit("active")),
        updated_on=pl.when(known_dead)
        .then(pl.col("true_death_date") + pl.duration(days=7))
        .when(pl.col("moved_out"))
        .then(pl.col("moved_out_on"))
        .otherwise(routine.cast(pl.Date)),
    ).with_columns(pl.col("updated_on").clip(upper_bound=w.ref))


def death(w: World, rng: np.random.Generator) -> pl.DataFrame:
    """死亡/火化: every death of the last year; most appear as a registration and a cremation record."""
    dead = w.persons.filter(pl.col("true_death_date").is_not_null()).select("pid", date_of_death="true_death_date")
    n = dead.height
    first = np.where(rng.random(n) < 0.7, "death_registration", "medical_certificate")
    second = dead.filter(pl.Series(rng.random(n) < 0.6)).with_columns(record_kind=pl.lit("cremation"))
    return pl.concat([dead.with_columns(record_kind=pl.Series(first)), second]).sort("pid", "record_kind")


def tax(w: World, rng: np.random.Generator) -> pl.DataFrame:
    """个人所得税: withheld wages of employees, business income of most registered businesses, some rent."""
    inc = w.income
    emp = w.persons.select("pid", "employer")
    names = w.assets.business.filter(pl.col("entity_type") == "individual_business")
    names = names.group_by("pid").agg(pl.col("entity_name").first()).sort("pid")
    wage = (
        inc.filter(pl.col("channel") == "tax_wage")
        .join(emp, on="pid", how="left", maintain_order="left")
        .with_columns(income_kind=pl.lit("wage"), payer=pl.col("employer"))
    )
    filers = names["pid"].filter(pl.Series(rng.random(names.height) < 0.6))
    biz = inc.filter((pl.col("channel") == "business_registered") & pl.col("pid").is_in(filers.implode()))
    biz = biz.join(names, on="pid", how="left", maintain_order="left").with_columns(
        income_kind=pl.lit("business"), payer=pl.col("entity_name")
    )
    rent_payers = inc.filter(pl.col("channel") == "rent")["pid"].unique().sort()
    rent_payers = rent_payers.filter(pl.Series(rng.random(len(rent_payers)) < 0.3))
    rent = inc.filter((pl.col("channel") == "rent") & pl.col("pid").is_in(rent_payers.implode())).with_columns(
        income_kind=pl.lit("property"), payer=pl.lit("")
    )
    cols = ["pid", "month", "income_kind", "amount", "payer"]
    return pl.concat([f.select(cols) for f in (wage, biz, rent)]).with_columns(month=_month("month"))


def social_insurance(w: World, rng: np.random.Generator) -> pl.DataFrame:
    """社保: employee and flexible-worker contributions, employee pensions, basic pensions, unemployment benefit."""
    si = w.params["social_insurance"]
    inc = w.income
    insured = w.persons.filter("insured").select("pid", "employer", "employment")
    wages = inc.filter(pl.col("kind").is_in(["wage", "business"])).join(
        insured, on="pid", how="inner", maintain_order="left"
    )
    floor, ceiling = float(si["base_floor"]), float(si["base_ceiling"])
    base = pl.when(pl.col("employment") == "employed").then(pl.col("amount").clip(floor, ceiling)).otherwise(floor)
    contrib = wages.with_columns(
        item=pl.lit("contribution"),
        contribution_base=base.round(0),
        employer=pl.when(pl.col("employment") == "employed").then(pl.col("employer")).otherwise(pl.lit("")),
    ).with_columns(amount=(pl.col("contribution_base") * float(si["employee_pension_rate"])).round(2))
    paid = inc.filter(pl.col("channel").is_in(["retirement_pension", "basic_pension", "unemployment_benefit"]))
    paid = paid.with_columns(
        item=pl.col("channel"), contribution_base=pl.lit(None, dtype=pl.Float64), employer=pl.lit("")
    )
    cols = ["pid", "month", "item", "amount", "contribution_base", "employer"]
    return pl.concat([contrib.select(cols), paid.select(cols)]).with_columns(month=_month("month"))


def real_estate(w: World, rng: np.random.Generator) -> pl.DataFrame:
    """不动产登记: registered homes and other property, one row per owner with their share."""
    return w.assets.property.filter("registered").select(
        "pid", "certificate_no", "property_use", "floor_area", "location", "registered_on", "share"
    )


def vehicle(w: World, rng: np.random.Generator) -> pl.DataFrame:
    """车船登记: every registered vehicle (cars, trucks, motorcycles, e-bikes, mobility vehicles)."""
    return w.assets.vehicles.select("pid", "plate_no", "vehicle_type", "registered_on", "estimated_value")


def business(w: World, rng: np.random.Generator) -> pl.DataFrame:
    """市场主体登记: individual businesses, companies, cooperatives (also revoked and cancelled ones)."""
    return w.assets.business.select(
        "pid", "credit_code", "entity_name", "entity_type", "role", "registered_capital", "status", "registered_on"
    )


def provident_fund(w: World, rng: np.random.Generator) -> pl.DataFrame:
    """住房公积金: monthly deposits of employees with a fund account, and the running balance."""
    rate = float(w.params["social_insurance"]["provident_rate_total"])
    members = w.persons.filter("provident").select("pid", "employer")
    rows = (
        w.income.filter(pl.col("channel") == "tax_wage")
        .join(members, on="pid", how="inner", maintain_order="left")
        .sort("pid", "month")
    )
    start = pl.Series(rng.uniform(6, 120, size=members.height))
    opening = members.select("pid").with_columns(months_paid=start)
    return (
        rows.join(opening, on="pid", how="left", maintain_order="left")
        .with_columns(
            monthly_deposit=(pl.col("amount") * rate).round(0),
        )
        .with_columns(
            balance=(
                pl.col("monthly_deposit") * pl.col("months_paid") + pl.col("monthly_deposit").cum_sum().over("pid")
            ).round(2),
            month=_month("month"),
        )
        .select("pid", "month", "monthly_deposit", "balance", "employer")
    )


def bank(w: World, rng: np.random.Generator) -> pl.DataFrame:
    """银行: balances of deposits and other financial products at the reference date."""
    branch = w.params["county_label"] + "支行"
    return w.assets.bank.select(
        "pid",
        institution=pl.col("institution") + branch,
        product=pl.col("product"),
        balance=pl.col("balance"),
        as_of=pl.col("as_of"),
    )


def disability(w: World, rng: np.random.Generator) -> pl.DataFrame:
    """残疾人证: certificate number = ID number + category digit + grade digit, as the second-generation card."""
    d = w.persons.filter(pl.col("disability_grade").is_not_null())
    n = d.height
    years_ago = rng.uniform(0, 9.5, size=n)
    issued = np.datetime64(w.ref, "D") - (years_ago * 365).astype("timedelta64[D]")
    birth = d["birth_date"].to_numpy().astype("datetime64[D]")
    issued = np.maximum(issued, birth + np.timedelta64(30, "D"))
    return (
        d.select(
            "pid",
            certificate_no=pl.col("id_number")
            + pl.col("disability_category").replace_strict(DISABILITY_DIGIT)
            + pl.col("disability_grade").cast(pl.Utf8),
            category=pl.col("disability_category"),
            grade=pl.col("disability_grade").cast(pl.Int64),
        )
        .with_columns(issued_on=pl.Series(issued).cast(pl.Date))
        .with_columns(valid_until=pl.col("issued_on").dt.offset_by("10y"))
    )


def medical(w: World, rng: np.random.Generator) -> pl.DataFrame:
    """医保结算: every settlement of the last 12 months with the out-of-pocket share."""
    return w.medical.select(
        "pid", "settled_on", "total_cost", "fund_paid", "out_of_pocket", "institution", "serious_illness"
    )


def school(w: World, rng: np.random.Generator) -> pl.DataFrame:
    """学籍: enrolled pupils and students, recent graduates and drop-outs."""
    return w.school.select("pid", "school", "stage", "enrolled_on", "status", "tuition_per_year")


def unemployment(w: World, rng: np.random.Generator) -> pl.DataFrame:
    """失业登记: current registrations, and ended ones of people now at work."""
    p = w.persons
    current = p.filter("unemployment_registered").select("pid")
    past = p.filter((pl.col("employment") == "employed") & (pl.col("age") < 45))
    past = past.filter(pl.Series(rng.random(past.height) < 0.04)).select("pid")
    cur = current.with_columns(
        registered_on=pl.Series(
            np.datetime64(w.ref, "D") - rng.integers(20, 700, size=current.height).astype("timedelta64[D]")
        ).cast(pl.Date),
        status=pl.lit("registered"),
        ended_on=pl.lit(None, dtype=pl.Date),
    )
    old_start = np.datetime64(w.ref, "D") - rng.integers(400, 2500, size=past.height).astype("timedelta64[D]")
    ended = past.with_columns(
        registered_on=pl.Series(old_start).cast(pl.Date),
        status=pl.lit("ended"),
        ended_on=pl.Series(old_start + rng.integers(60, 360, size=past.height).astype("timedelta64[D]")).cast(pl.Date),
    )
    return pl.concat([cur, ended]).sort("pid")


BUILDERS = {
    "hukou": hukou,
    "death": death,
    "tax": tax,
    "social_insurance": social_insurance,
    "real_estate": real_estate,
    "vehicle": vehicle,
    "business": business,
    "provident_fund": provident_fund,
    "bank": bank,
    "disability": disability,
    "medical": medical,
    "school": school,
    "unemployment": unemployment,
}


def finish(
    source: str, w: World, frame: pl.DataFrame, rng: np.random.Generator, stale_addresses: pl.Series
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add person columns, shuffle, number, apply noise and keep record_id + the declared columns."""
    # record_id is itself a declared (optional) column of every source: the agency's own row key.
    declared = [c for c in load_sources()[source].column_names if c != "record_id"]
    ident = (
        w.persons.select("pid", "id_number", "name", "birth_date", "sex", "hh")
        .join(w.households.select("hh", "address"), on="hh", how="left", maintain_order="left")
        .drop("hh")
    )
    frame = frame.join(ident, on="pid", how="left", maintain_order="left")
    frame = frame.with_columns(true_id=pl.col("id_number"))
    order = rng.permutation(frame.height)
    frame = frame[order].with_columns(row_number=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
    frame, manifest = apply_noise(source, frame, w.params, rng, stale_addresses)
    frame = frame.with_columns(
        record_id=pl.format("{}-{}", pl.lit(source), pl.col("row_number").cast(pl.Utf8).str.zfill(8))
    )
    missing = [c for c in declared if c not in frame.columns]
    if missing:
        raise RuntimeError(f"feed {source} lacks declared columns {missing}")
    return frame.select(["record_id", *[c for c in declared if c != "record_id"]]), manifest
