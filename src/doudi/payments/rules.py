"""Pure payment rules on frames (no database): which months an enrollment is paid, the amount in force in each
month, the split of a 特困 amount into basic and care, and the price-subsidy trigger. One row or a million
run through the same code."""

from __future__ import annotations

from datetime import date

import polars as pl

from doudi.core.dates import month_start

FEN = 100


def yuan_to_fen(expr: pl.Expr) -> pl.Expr:
    """A yuan amount (Decimal, or a float as a test may give) as integer fen, rounded half up at the fen, in
    integer arithmetic: the amount in ten-thousandths of a yuan, then whole fen."""
    return ((expr.cast(pl.Decimal(38, 4)) * 10_000).cast(pl.Int64) + FEN // 2) // FEN


def entitled(enrollments: pl.DataFrame, months: list[date]) -> pl.DataFrame:
    """One row per enrollment and month it is paid for.

    An enrollment is paid from `start_month` up to the month before `end_month` (the first month no longer
    paid: termination takes effect the month after the decision); a person paid personally is paid up to and
    including the month of death, never after; a suspended enrollment is paid nothing while suspended.
    Columns in: enrollment_id, status, start_month, end_month, date_of_death (null for the living or a
    household payee). Out: the same plus `month`."""
    grid = enrollments.join(pl.DataFrame({"month": months}, schema={"month": pl.Date}), how="cross")
    death_month = pl.col("date_of_death").dt.month_start()
    return grid.filter(
        (pl.col("status") != "suspended")
        & (pl.col("start_month") <= pl.col("month"))
        & (pl.col("end_month").is_null() | (pl.col("month") < pl.col("end_month")))
        & (pl.col("date_of_death").is_null() | (pl.col("month") <= death_month))
    )


def in_force(grid: pl.DataFrame, changes: pl.DataFrame) -> pl.DataFrame:
    """The monthly amount and care level in force for each (enrollment, month).

    `changes` (enrollment_id, effective_month, old_amount, new_amount, old_level, new_level) are the effective
    changes of amount or level. In a month, the last change effective on or before it gives the amount (and
    level, when it changed the level); before the first change, that change's old values hold; with no change,
    the enrollment's current `monthly_amount` and `level`."""
    # Most enrollments never changed: they keep their amount and level without the as-of joins.
    unchanged = {"amount": pl.col("monthly_amount"), "level_in_force": pl.col("level"), "changed": pl.lit(False)}
    if changes.is_empty():
        return grid.with_columns(**unchanged)
    touched = pl.col("enrollment_id").is_in(changes["enrollment_id"].implode())
    return pl.concat([grid.filter(~touched).with_columns(**unchanged),
                      _changed_in_force(grid.filter(touched), changes)], how="vertical_relaxed")


def _changed_in_force(grid: pl.DataFrame, changes: pl.DataFrame) -> pl.DataFrame:
    ch = changes.sort("effective_month")
    before = grid.sort("month").join_asof(
        ch.rename({"effective_month": "month"}).select("enrollment_id", "month", "new_amount"),
        on="month", by="enrollment_id", strategy="backward", check_sortedness=False)
    after = before.join_asof(
        ch.rename({"effective_month": "month"}).select("enrollment_id", "month", "old_amount"),
        on="month", by="enrollment_id", strategy="forward", allow_exact_matches=False, check_sortedness=False)
    # A level change is a change whose level is recorded; a pure amount change leaves the level to others.
    lv = ch.filter(pl.col("new_level") != "").rename({"effective_month": "month"})
    after = after.sort("month").join_asof(
        lv.select("enrollment_id", "month", pl.col("new_level").alias("lv_b")), on="month", by="enrollment_id",
        strategy="backward", check_sortedness=False).join_asof(
        lv.select("enrollment_id", "month", pl.col("old_level").alias("lv_a")), on="month", by="enrollment_id",
        strategy="forward", allow_exact_matches=False, check_sortedness=False)
    return after.with_columns(
        amount=pl.coalesce("new_amount", "old_amount", "monthly_amount"),
        level_in_force=pl.coalesce("lv_b", "lv_a", "level"),
        changed=pl.col("new_amount").is_not_null(),
    ).drop("new_amount", "old_amount", "lv_b", "lv_a")


def split_care(frame: pl.DataFrame, care_fen: dict[str, int]) -> pl.DataFrame:
    """A 特困 amount as basic + care: care is the pack's care standard for the level in force (capped at the
    amount), basic the rest. Other programs pay everything as basic. Adds basic_fen and care_fen."""
    total = yuan_to_fen(pl.col("amount"))
    care = pl.col("level_in_force").replace_strict(care_fen, default=0, return_dtype=pl.Int64)
    care = pl.when(pl.col("program") == "extreme_poverty").then(pl.min_horizontal(care, total)).otherwise(0)
    return frame.with_columns(care_fen=care).with_columns(basic_fen=total - pl.col("care_fen"))


def subsidy_triggered(*, cpi_yoy: float, food_cpi_yoy: float, cpi_trigger: float, food_trigger: float) -> bool:
    """The linkage mechanism starts when either index reaches its trigger (达到 includes the number itself)."""
    return cpi_yoy >= cpi_trigger or food_cpi_yoy >= food_trigger


def subsidy_fen(standard_yuan: float, cpi_yoy: float, rate: float, minimum_yuan: float) -> int:
    """One recipient's subsidy for a month: the local standard × the CPI rise × the pack's rate, at least the
    pack's minimum, in fen (rounded half up)."""
    value = max(standard_yuan * cpi_yoy / 100 * rate, minimum_yuan)
    return int(value * FEN + 0.5)


def months_back(month: date, n: int) -> list[date]:
    """The month and the `n` months before it, oldest first."""
    out = [month_start(month)]
    for _ in range(n):
        prev = out[0].replace(day=1)
        out.insert(0, (prev.replace(year=prev.year - 1, month=12) if prev.month == 1
                       else prev.replace(month=prev.month - 1)))
    return out
