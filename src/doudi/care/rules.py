"""Pure, vectorised care rules: level and hours from the six items, visit verification, settlement amounts.

Every number comes from the policy pack: the level thresholds and hours through the 特困 programme's own
expressions (`policy.programs.extreme_poverty`), the tolerances, rounding and default price from `care.*`.
One frame in, one frame out, so a single visit and a month of a county run the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

import polars as pl

from doudi.care.models import Level, VisitStatus
from doudi.core.dates import month_start
from doudi.policy.params import Pack, load_pack
from doudi.policy.programs.extreme_poverty import EPParams, care_rank, home_care_hours

ITEMS = ("eating", "dressing", "bed_transfer", "toileting", "indoor_walking", "bathing")
ITEM_LABELS = {"eating": "自主吃饭", "dressing": "自主穿衣", "bed_transfer": "自主上下床", "toileting": "自主如厕",
               "indoor_walking": "室内行走", "bathing": "自主洗澡"}
LEVEL_LABELS = {Level.SELF_CARE: "全自理", Level.PARTIAL: "半自理", Level.FULL: "不能自理"}
RANK_LEVEL = {1: Level.SELF_CARE.value, 2: Level.PARTIAL.value, 3: Level.FULL.value}
FLAG_LABELS = {
    "no_home_coordinates": "住址无坐标，须人工核实",
    "no_location": "签到或签退未提供定位",
    "too_far": "签到/签退位置超出距离容差",
    "short": "服务时长不足",
    "too_long": "服务时长超出上限",
}
EARTH_RADIUS_M = 6_371_000.0
LOCAL = ZoneInfo("Asia/Shanghai")  # the county's clock: visit dates are local dates


@dataclass(frozen=True)
class CareRules:
    """The parameters in force for one area and date."""

    max_distance_m: int
    min_minutes: int
    max_minutes: int
    rounding_minutes: int
    default_rate: Decimal
    interval_months: int
    no_visit_days: int
    reassess_workdays: int
    plan_visit_minutes: int


def care_rules(area_code: str, on: date) -> CareRules:
    """Read the care parameters of the pack in force for `area_code` on `on`."""
    return _care_rules(load_pack(area_code), on)


@lru_cache(maxsize=512)
def _care_rules(pack: Pack, on: date) -> CareRules:
    """Once per pack and date: every check-out of a day reads the same tolerances (an edited pack is a new Pack)."""

    def num(key: str) -> int:
        return int(pack.value(key, on=on))

    return CareRules(
        max_distance_m=num("care.verification.max_distance_m"),
        min_minutes=num("care.verification.min_minutes"),
        max_minutes=num("care.verification.max_minutes"),
        rounding_minutes=num("care.minutes_rounding"),
        default_rate=Decimal(str(pack.value("care.hourly_rate", on=on))),
        interval_months=num("care.reassessment.interval_months"),
        no_visit_days=num("care.no_visit_alert_days"),
        reassess_workdays=num("procedure.extreme_poverty.reassessment_workdays"),
        plan_visit_minutes=num("care.plan.visit_minutes"),
    )


def level_params(area_code: str, on: date) -> EPParams:
    """The 特困 programme's parameters in force (the Art. 22 thresholds and the pack's hours)."""
    return EPParams.read(load_pack(area_code).at(on))


def levels(frame: pl.DataFrame, ep: EPParams) -> pl.DataFrame:
    """Add `unable_items`, `level` and `hours` (a month, as a dispersed person) from the six boolean items."""
    unable = pl.sum_horizontal([(~pl.col(c)).cast(pl.Int8) for c in ITEMS]).cast(pl.Int8)
    out = frame.with_columns(unable_items=unable).with_columns(_rank=care_rank(pl.col("unable_items"), ep))
    return out.with_columns(
        level=pl.col("_rank").replace_strict(RANK_LEVEL, return_dtype=pl.String),
        hours=home_care_hours(pl.col("_rank"), ep).cast(pl.Float64),
    ).drop("_rank")


def distance_m(lat1: pl.Expr, lon1: pl.Expr, lat2: pl.Expr, lon2: pl.Expr) -> pl.Expr:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = lat1.radians(), lat2.radians()
    dp, dl = (lat2 - lat1).radians(), (lon2 - lon1).radians()
    a = (dp / 2).sin().pow(2) + p1.cos() * p2.cos() * (dl / 2).sin().pow(2)
    return (2 * EARTH_RADIUS_M * a.sqrt().arcsin()).round(0).cast(pl.Int64)


def verify(frame: pl.DataFrame, rules: CareRules) -> pl.DataFrame:
    """Given check-in/out times and places and the home's coordinates, add `minutes`, `distance_m`,
    `counted_minutes`, `flags` (list of codes) and `status` (verified when no flag, else flagged)."""
    seconds = (pl.col("check_out_at") - pl.col("check_in_at")).dt.total_seconds()
    minutes = (seconds // 60).cast(pl.Int64)
    home = pl.col("home_lat").is_not_null() & pl.col("home_lon").is_not_null()
    located = (pl.col("in_lat").is_not_null() & pl.col("in_lon").is_not_null() & pl.col("out_lat").is_not_null()
               & pl.col("out_lon").is_not_null())
    d_in = distance_m(pl.col("home_lat"), pl.col("home_lon"), pl.col("in_lat"), pl.col("in_lon"))
    d_out = distance_m(pl.col("home_lat"), pl.col("home_lon"), pl.col("out_lat"), pl.col("out_lon"))
    flag_rules = [
        (~home, "no_home_coordinates"),
        (home & ~located, "no_location"),
        (pl.col("distance_m") > rules.max_distance_m, "too_far"),
        (pl.col("minutes") < rules.min_minutes, "short"),
        (pl.col("minutes") > rules.max_minutes, "too_long"),
    ]
    none = pl.lit([], pl.List(pl.String))
    flags = pl.concat_list([pl.when(cond.fill_null(False)).then(pl.lit([code])).otherwise(none)
                            for cond, code in flag_rules])
    step = rules.rounding_minutes
    # One lazy plan, collected once: a single check-out pays Polars' per-collect cost once, not per step.
    return frame.lazy().with_columns(
        minutes=minutes, distance_m=pl.when(home & located).then(pl.max_horizontal(d_in, d_out)),
    ).with_columns(
        flags=flags,
        counted_minutes=(pl.min_horizontal(pl.col("minutes"), pl.lit(rules.max_minutes)) // step * step)
        .clip(lower_bound=0).cast(pl.Int64),
    ).with_columns(
        status=pl.when(pl.col("flags").list.len() == 0).then(pl.lit(VisitStatus.VERIFIED.value))
        .otherwise(pl.lit(VisitStatus.FLAGGED.value)),
    ).collect()


def settle(visits: pl.DataFrame, entitled: pl.DataFrame, rate: Decimal) -> pl.DataFrame:
    """Per person: verified minutes (sum of `counted_minutes`), paid minutes (capped at `entitled_minutes`:
    unused hours do not carry over, extra hours are not paid) and the amount in fen, rounded half up.

    `visits`: person_id, area_code, counted_minutes; `entitled`: person_id, entitled_minutes."""
    per = visits.group_by("person_id").agg(area_code=pl.col("area_code").first(), visits=pl.len().cast(pl.Int64),
                                           verified_minutes=pl.col("counted_minutes").sum().cast(pl.Int64))
    return settle_sums(per, entitled, rate)


def settle_sums(per: pl.DataFrame, entitled: pl.DataFrame, rate: Decimal) -> pl.DataFrame:
    """`settle` from per-person sums (person_id, area_code, visits, verified_minutes), e.g. summed in SQL."""
    rate_fen = int((rate * 100).to_integral_value())
    return settle_lines(per.with_columns(rate_fen=pl.lit(rate_fen, pl.Int64)), entitled).drop("rate_fen")


def settle_lines(per: pl.DataFrame, entitled: pl.DataFrame) -> pl.DataFrame:
    """`settle_sums` with each row's own price in fen an hour (`rate_fen`): many providers in one frame."""
    per = (per.with_columns(pl.col("visits").cast(pl.Int64), pl.col("verified_minutes").cast(pl.Int64))
           .join(entitled.select("person_id", "entitled_minutes"), on="person_id", how="left")
           .with_columns(pl.col("entitled_minutes").fill_null(0).cast(pl.Int64)))
    paid = pl.min_horizontal("verified_minutes", "entitled_minutes")
    return per.with_columns(paid_minutes=paid).with_columns(  # half up, in fen
        amount_fen=((pl.col("paid_minutes") * pl.col("rate_fen") * 2 + 60) // 120).cast(pl.Int64),
    ).sort("person_id")


def utc(dt: datetime) -> datetime:
    """A time as aware UTC (the database may hand back naive UTC)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def local_date(dt: datetime) -> date:
    """The county's calendar date of a time."""
    return utc(dt).astimezone(LOCAL).date()


def local_time(day: date, hour: int, minute: int = 0) -> datetime:
    """A local wall-clock time on `day`, as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL).astimezone(UTC)


def month_of(day: date) -> date:
    """The first day of the month of `day`."""
    return month_start(day)
