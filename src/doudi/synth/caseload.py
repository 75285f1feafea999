"""The county's current recipients as its ledger (台账) lists them: `enrollments.csv` for `doudi import enrollments`.

低保 households are those with a member recorded as a 低保 recipient; the amount is the 补差 of the
declared income against the line (the ledger's own figure, so a later change of facts shows up in the
存量核查). 特困 persons get the basic standard of their hukou type. Start months lie one to six years
back; a tenth of the rows give no start month (the ledger lost it), as real ledgers do.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from doudi.core.dates import shift_months
from doudi.policy.params import MissingParameter, load_pack

COLUMNS = ["household_no", "id_number", "program", "monthly_amount", "level", "start_month", "next_review_on",
           "gradual_exit_until", "support_mode", "decision_date", "decision_no"]


def current_recipients(households: pl.DataFrame, persons: pl.DataFrame, truth: pl.DataFrame, ref: date,
                       rng: np.random.Generator) -> pl.DataFrame:
    """One row per 低保 household and per 特困 person, in the enrollment import format."""
    hh = households.select("hh", "household_no", county=pl.col("county_code"), urban=pl.col("hukou_type") == "urban")
    dibao_hh = persons.filter(pl.col("dibao_recipient")).select("hh").unique()
    dibao = (dibao_hh.join(hh, on="hh").join(truth.select("household_no", "dibao_line", "declared_income_pc",
                                                          "counted_size_registry"), on="household_no")
             .select("household_no", id_number=pl.lit(None, pl.Utf8), program=pl.lit("dibao"),
                     monthly_amount=((pl.col("dibao_line") - pl.col("declared_income_pc")).clip(lower_bound=0)
                                     * pl.col("counted_size_registry")).round(0),
                     level=pl.lit(None, pl.Utf8), support_mode=pl.lit(None, pl.Utf8), county="county"))
    # The basic standard of 特困 where the pack gives one (安丘); else the multiple of the 低保 line (广东).
    standards: dict[str, tuple[float | None, float | None, float]] = {}
    for county in hh["county"].unique().to_list():
        values = load_pack(county).at(ref)
        urban: float | None
        rural: float | None
        try:
            urban, rural = (float(values["extreme_poverty.basic_standard.urban"]),
                            float(values["extreme_poverty.basic_standard.rural"]))
        except MissingParameter:
            urban = rural = None
        standards[county] = (urban, rural, float(values["extreme_poverty.basic_multiplier"]))
    fixed = pl.DataFrame([(c, u, r, m) for c, (u, r, m) in standards.items()],
                         schema={"county": pl.Utf8, "std_urban": pl.Float64, "std_rural": pl.Float64,
                                 "multiplier": pl.Float64}, orient="row")
    ep = (persons.filter(pl.col("extreme_poverty_supported")).join(hh, on="hh").join(fixed, on="county")
          .join(truth.select("household_no", "dibao_line"), on="household_no")
          .select("household_no", "id_number", program=pl.lit("extreme_poverty"),
                  monthly_amount=pl.coalesce(pl.when(pl.col("urban")).then("std_urban").otherwise("std_rural"),
                                             (pl.col("dibao_line") * pl.col("multiplier")).round(0)),
                  level=pl.lit(None, pl.Utf8), support_mode=pl.col("support_mode"), county="county"))
    rows = pl.concat([dibao, ep]).sort("program", "household_no", "id_number", nulls_last=False)
    n = rows.height
    back = rng.integers(12, 72, size=n)
    known = rng.random(n) >= 0.1
    first = date(ref.year, ref.month, 1)
    starts = [shift_months(first, -int(b)) for b in back]
    decided = [shift_months(s, -1).replace(day=20) for s in starts]
    reviews = [shift_months(first, 12 - (int(b) % 12)) for b in back]
    seq = np.arange(1, n + 1)
    return rows.with_columns(
        start_month=pl.Series([s.strftime("%Y-%m") if k else None for s, k in zip(starts, known, strict=True)],
                              dtype=pl.Utf8),
        next_review_on=pl.Series(reviews, dtype=pl.Date),
        gradual_exit_until=pl.lit(None, pl.Date),
        decision_date=pl.Series(decided, dtype=pl.Date),
        decision_no=pl.format("{}民救字〔{}〕{}号", pl.col("county"), pl.Series([d.year for d in decided]),
                              pl.Series(seq)),
    ).select(COLUMNS)
