"""Pure, vectorised comparisons (frames in, frames out, no database):

- `decision_changes`: one household's decisions before and after verification, per program and direction;
- `fact_findings`: what verification found beside what the household declared (hidden income by kind,
  vehicles, property, businesses, deposits, deaths);
- `error_rates`: inclusion error (错保) and exclusion error (漏保) of decisions against decisions from the truth.
"""

from __future__ import annotations

from enum import StrEnum

import polars as pl

HIDDEN_INCOME_KINDS = ("wage", "business", "property", "transfer")  # 审核确认办法 Art. 13 counted kinds
ASSET_COUNTS = {"vehicles": "vehicles", "properties": "properties", "businesses": "business_registrations"}


class Direction(StrEnum):
    """How verification changed a program's decision."""

    GRANTED_TO_REFUSED = "granted_to_refused"
    REFUSED_TO_GRANTED = "refused_to_granted"
    AMOUNT_DOWN = "amount_down"
    AMOUNT_UP = "amount_up"
    UNCHANGED = "unchanged"


DIRECTION_LABELS = {
    Direction.GRANTED_TO_REFUSED: "符合→不符合", Direction.REFUSED_TO_GRANTED: "不符合→符合",
    Direction.AMOUNT_DOWN: "金额减少", Direction.AMOUNT_UP: "金额增加", Direction.UNCHANGED: "未变",
}
FINDING_LABELS = {
    "hidden_wage": "隐瞒工资性收入(元/月)", "hidden_business": "隐瞒经营净收入(元/月)",
    "hidden_property": "隐瞒财产净收入(元/月)", "hidden_transfer": "隐瞒转移净收入(元/月)",
    "income_households": "发现隐瞒收入户数", "vehicles": "发现未申报车辆(辆)", "properties": "发现未申报房产(套)",
    "businesses": "发现未申报市场主体(户)", "deposits": "发现未申报金融资产(元)",
    "deposit_households": "金融资产不实户数",
    "deaths": "发现死亡未报(人)",
}
KEYS = ["request_id", "household_id"]
CENT = 0.005  # amounts are rounded to the fen: a smaller difference is no change


def decision_changes(declared: pl.DataFrame, verified: pl.DataFrame) -> pl.DataFrame:
    """Per request, household and program: the decision on declared facts only and on verified facts.

    Both inputs carry `request_id, household_id, program, eligible, monthly_amount`. The result adds
    `amount_before`, `amount_after` (0 when not eligible), `direction` and `worth` (after − before, yuan a month).
    """
    cols = [*KEYS, "program", "eligible", "monthly_amount"]
    d = declared.select(cols).rename({"eligible": "eligible_before", "monthly_amount": "amount_before"})
    v = verified.select(cols).rename({"eligible": "eligible_after", "monthly_amount": "amount_after"})
    out = d.join(v, on=[*KEYS, "program"], how="full", coalesce=True).with_columns(
        pl.col("eligible_before").fill_null(False), pl.col("eligible_after").fill_null(False))
    out = out.with_columns(
        amount_before=pl.when(pl.col("eligible_before")).then(pl.col("amount_before").fill_null(0.0)).otherwise(0.0),
        amount_after=pl.when(pl.col("eligible_after")).then(pl.col("amount_after").fill_null(0.0)).otherwise(0.0))
    diff = pl.col("amount_after") - pl.col("amount_before")
    before, after = pl.col("eligible_before"), pl.col("eligible_after")
    direction = (pl.when(before & ~after).then(pl.lit(Direction.GRANTED_TO_REFUSED))
                 .when(~before & after).then(pl.lit(Direction.REFUSED_TO_GRANTED))
                 .when(pl.col("eligible_before") & (diff < -CENT)).then(pl.lit(Direction.AMOUNT_DOWN))
                 .when(pl.col("eligible_before") & (diff > CENT)).then(pl.lit(Direction.AMOUNT_UP))
                 .otherwise(pl.lit(Direction.UNCHANGED)))
    return out.with_columns(direction=direction.cast(pl.String), worth=diff.round(2))


def household_facts(households: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """From the engine's input frames (tagged with request_id): the facts compared, one row per request."""
    income = members.group_by(KEYS).agg([pl.col(k).fill_null(0.0).sum().alias(k) for k in HIDDEN_INCOME_KINDS])
    homes = pl.col("residential_properties").fill_null(0) + pl.col("non_residential_properties").fill_null(0)
    assets = households.select(
        *KEYS, financial=pl.col("financial_assets").fill_null(0.0), vehicles=pl.col("vehicles").fill_null(0),
        properties=homes,
        business_registrations=pl.col("business_registrations").fill_null(0))
    return assets.join(income, on=KEYS, how="left").fill_null(0)


def fact_findings(declared: pl.DataFrame, verified: pl.DataFrame, deaths: pl.DataFrame) -> pl.DataFrame:
    """Per request: what verification found beyond the declaration (only the excess counts: a verified figure
    below the declared one is not a finding). `deaths`: request_id, household_id, persons (deaths found)."""
    d = declared.rename({c: f"{c}_d" for c in declared.columns if c not in KEYS})
    j = verified.join(d, on=KEYS, how="left").fill_null(0)

    def excess(col: str) -> pl.Expr:
        return pl.max_horizontal(pl.col(col) - pl.col(f"{col}_d"), pl.lit(0))

    hidden = [excess(k).round(2).alias(f"hidden_{k}") for k in HIDDEN_INCOME_KINDS]
    out = j.select(*KEYS, *hidden, *[excess(src).cast(pl.Int64).alias(name) for name, src in ASSET_COUNTS.items()],
                   deposits=excess("financial").round(2))
    hidden_total = pl.sum_horizontal([pl.col(f"hidden_{k}") for k in HIDDEN_INCOME_KINDS])
    out = out.with_columns(
        income_households=(hidden_total > CENT).cast(pl.Int64),
        deposit_households=(pl.col("deposits") > CENT).cast(pl.Int64))
    out = out.join(deaths.select(*KEYS, "persons"), on=KEYS, how="left")
    return out.with_columns(deaths=pl.col("persons").fill_null(0).cast(pl.Int64)).drop("persons")


def summarise_changes(changes: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """Counts per direction and the monthly amount saved (cuts) and added (grants, increases), grouped `by`."""
    return changes.group_by([*by, "program"]).agg(
        requests=pl.col("request_id").n_unique(),
        granted_before=pl.col("eligible_before").sum(), granted_after=pl.col("eligible_after").sum(),
        **{d.value: (pl.col("direction") == d.value).sum() for d in Direction if d != Direction.UNCHANGED},
        saved=(-pl.col("worth").clip(upper_bound=0)).sum().round(2),
        added=pl.col("worth").clip(lower_bound=0).sum().round(2),
    ).sort([*by, "program"])


def error_rates(decisions: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Inclusion and exclusion error per program.

    Both frames: `key, program, eligible` (one row per household or unit and program; `key` identifies the
    household the same way in both). Inclusion error = granted households not eligible in truth / granted;
    exclusion error = truly eligible households refused / truly eligible. Null when the denominator is 0.
    """
    j = decisions.select("key", "program", granted="eligible").join(
        truth.select("key", "program", true_eligible="eligible"), on=["key", "program"], how="full", coalesce=True
    ).with_columns(pl.col("granted").fill_null(False), pl.col("true_eligible").fill_null(False))
    out = j.group_by("program").agg(
        granted=pl.col("granted").sum(), truly_eligible=pl.col("true_eligible").sum(),
        wrongly_included=(pl.col("granted") & ~pl.col("true_eligible")).sum(),
        wrongly_excluded=(~pl.col("granted") & pl.col("true_eligible")).sum())
    return out.with_columns(
        inclusion_error=pl.when(pl.col("granted") > 0).then(pl.col("wrongly_included") / pl.col("granted")),
        exclusion_error=pl.when(pl.col("truly_eligible") > 0)
        .then(pl.col("wrongly_excluded") / pl.col("truly_eligible"))).sort("program")
