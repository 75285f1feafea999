"""The engine's input: a households frame and a members frame keyed by ``household_id``.

Sources: the JSON contract (one household or a list), the registry database (read with SQL into
Polars, never row by row through the ORM; see :mod:`doudi.policy.registry_frames`) and Parquet
snapshots (``households.parquet`` + ``members.parquet`` with exactly these schemas).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from doudi.core.errors import FieldError, ValidationFailed
from doudi.policy.protocol import Params, param
from doudi.policy.schemas import HouseholdIn

HOUSEHOLD_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Int64(),
    "area_code": pl.String(),
    "urban": pl.Boolean(),
    # A capable legal supporter living outside the household (null: not recorded; never read as "no").
    "has_capable_supporter": pl.Boolean(),
    "financial_assets": pl.Float64(),
    "residential_properties": pl.Int32(),
    "non_residential_properties": pl.Int32(),
    "vehicles": pl.Int32(),
    "business_registrations": pl.Int32(),
    "exp_medical": pl.Float64(),
    "exp_education": pl.Float64(),
    "exp_rehabilitation": pl.Float64(),
    "exp_other": pl.Float64(),
    "need_kind": pl.String(),
    "need_amount": pl.Float64(),
    "receiving_dibao": pl.Boolean(),
    "dibao_current_amount": pl.Float64(),
    "above_standard_since": pl.Date(),
    "income_rise_cause": pl.String(),  # employment | transfer | compensation | other (渐退 only after employment)
    "former_registered_poor": pl.Boolean(),
    "unsafe_housing": pl.Boolean(),
    "no_safe_water": pl.Boolean(),
}

MEMBER_SCHEMA: dict[str, pl.DataType] = {
    "household_id": pl.Int64(),
    "member_idx": pl.Int32(),
    "person_id": pl.Int64(),
    "relation": pl.String(),
    "birth_date": pl.Date(),
    "exclusion": pl.String(),
    "disability_category": pl.String(),
    "disability_grade": pl.Int8(),
    "serious_illness": pl.Boolean(),
    "self_care_unable_items": pl.Int8(),
    "student": pl.Boolean(),
    "schooling_stage": pl.String(),
    "child_status": pl.String(),
    "extreme_poverty_supported": pl.Boolean(),  # currently supported as 特困
    "support_mode": pl.String(),  # 供养方式: centralized | dispersed
    "dibao_recipient": pl.Boolean(),  # currently a 低保 recipient (null: the household's receiving_dibao)
    "no_civil_capacity": pl.Boolean(),
    # Legal supporters living elsewhere, declared per member (all null: not recorded).
    "ext_able": pl.Int16(),
    "ext_unable": pl.Int16(),
    "ext_unverified": pl.Int16(),
    "wage": pl.Float64(),
    "business": pl.Float64(),
    "property": pl.Float64(),
    "transfer": pl.Float64(),
    "basic_pension": pl.Float64(),
    "idle_without_reason": pl.Boolean(),
    "refused_job_offers": pl.Int16(),
    # False: the ledger gave no date the member joined; counted as a member since before the import.
    "start_known": pl.Boolean(),
}


@dataclass(frozen=True)
class ReaderParams(Params):
    """The windows over which registry facts are read into these frames."""

    income_months: int = param("dibao.income.averaging_months", "int")
    asset_months: int = param("dibao.property.lookback_months", "int")
    expense_months: int = param("rigid_expenses.window_months", "int")


@dataclass
class Frames:
    """One batch of households and their members."""

    households: pl.DataFrame
    members: pl.DataFrame

    def __len__(self) -> int:
        return self.households.height


# The values every rule reads, by frame: a household without them is set aside, never decided on a null.
REQUIRED = (("households", "area_code", "缺少行政区划代码"), ("members", "relation", "有成员缺少与户主关系"),
            ("members", "birth_date", "有成员缺少出生日期"))


def incomplete_households(hh: pl.DataFrame, mem: pl.DataFrame) -> pl.DataFrame | None:
    """Households that lack a value every rule reads (household_id, reason), or None (the usual case: a null
    count is kept with each column, so a complete batch costs nothing here)."""
    frames = {"households": hh, "members": mem}
    parts = [frames[f].filter(pl.col(c).is_null()).select("household_id", reason=pl.lit(r))
             for f, c, r in REQUIRED if frames[f][c].null_count()]
    if not parts:
        return None
    return pl.concat(parts).group_by("household_id", maintain_order=True).agg(
        pl.col("reason").unique(maintain_order=True).str.join("；"))


# A whole batch that cannot set them aside names this many of them (a registry export may hold thousands).
LISTED = 20


def incomplete_error(incomplete: pl.DataFrame) -> ValidationFailed:
    """The error of a batch that must decide every household: the first incomplete ones, each with its reason."""
    more = incomplete.height - LISTED
    errors = [FieldError(field=f"household_id={hid}", message=reason)
              for hid, reason in incomplete.head(LISTED).iter_rows()]
    if more > 0:
        errors.append(FieldError(field="households", message=f"另有 {more} 户同样缺少必需信息"))
    return ValidationFailed(errors)


def conform(frames: Frames) -> Frames:
    """Cast both frames to the engine schema (missing optional columns become their defaults). A frame without
    a column every rule reads is a ValidationFailed naming it: a file of the wrong shape, not a row to set aside."""
    absent = [FieldError(field=f"{name}.{column}", message="缺少必需列")
              for name, df in (("households", frames.households), ("members", frames.members))
              for f, column, _ in REQUIRED if f == name and column not in df.columns]
    if absent:
        raise ValidationFailed(absent)
    return Frames(_conform(frames.households, HOUSEHOLD_SCHEMA), _conform(frames.members, MEMBER_SCHEMA))


_DEFAULTS: dict[str, object] = {
    "financial_assets": 0.0, "residential_properties": 0,
    "non_residential_properties": 0, "vehicles": 0, "business_registrations": 0, "exp_medical": 0.0,
    "exp_education": 0.0, "exp_rehabilitation": 0.0, "exp_other": 0.0, "receiving_dibao": False,
    "former_registered_poor": False,
    "unsafe_housing": False, "no_safe_water": False, "serious_illness": False, "self_care_unable_items": 0,
    "student": False, "extreme_poverty_supported": False, "no_civil_capacity": False, "wage": 0.0, "business": 0.0,
    "property": 0.0, "transfer": 0.0, "basic_pension": 0.0,
    "idle_without_reason": False, "refused_job_offers": 0, "start_known": True,
}


def _conform(df: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    if _conforms(df, schema):  # a frame built to the schema (the JSON contract's): no query to run
        return df
    cols = []
    for name, dtype in schema.items():
        default = _DEFAULTS.get(name)
        if name in df.columns:
            col = pl.col(name).cast(dtype)
            cols.append((col.fill_null(default) if default is not None else col).alias(name))
        else:
            cols.append(pl.lit(default, dtype).alias(name))
    return df.select(cols)


def _conforms(df: pl.DataFrame, schema: dict[str, pl.DataType]) -> bool:
    """Whether the frame already has exactly the schema's columns and types, and no null where a default applies."""
    return (df.columns == list(schema) and all(dtype == schema[name] for name, dtype in df.schema.items())
            and not any(df.get_column(name).null_count() for name in schema if name in _DEFAULTS))


def from_json(households: Sequence[HouseholdIn]) -> Frames:
    """Frames for validated JSON households; household_id defaults to the list position."""
    # Row tuples in schema order: Polars builds a few-row frame from rows several times faster than from a
    # dict of columns, and a single evaluation pays this on every call.
    hh_rows: list[tuple[object, ...]] = []
    mem_rows: list[tuple[object, ...]] = []
    for pos, h in enumerate(households):
        hid = h.household_id if h.household_id is not None else pos
        need, assets, exp, living = h.temporary_need, h.assets, h.rigid_expenses_12m, h.living_conditions
        hh_rows.append((
            hid, h.area_code, h.hukou_type == "urban", h.has_capable_supporter,
            assets.financial_assets, assets.residential_properties, assets.non_residential_properties,
            assets.vehicles, assets.business_registrations,
            exp.medical, exp.education, exp.rehabilitation, exp.other,
            need.kind if need else None, need.amount if need else None,
            h.receiving_dibao, h.dibao_current_amount, h.income_above_standard_since, h.income_rise_cause,
            h.former_registered_poor, living.unsafe_housing, living.no_safe_water,
        ))
        for idx, m in enumerate(h.members):
            dis, ext, inc = m.disability, m.supporters_elsewhere, m.monthly_income
            mem_rows.append((
                hid, idx, m.person_id, m.relation, m.birth_date, m.exclusion,
                dis.category if dis else None, dis.grade if dis else None,
                m.serious_illness, m.self_care_unable_items, m.student, m.schooling_stage, m.child_status,
                m.extreme_poverty_supported, m.support_mode,
                None,  # dibao_recipient: from the household's receiving_dibao
                m.no_civil_capacity,
                ext.able if ext else None, ext.unable if ext else None, ext.unverified if ext else None,
                inc.wage, inc.business, inc.property, inc.transfer, inc.basic_pension,
                m.idle_without_reason, m.refused_job_offers,
                True,  # start_known: a JSON household states its members as they are
            ))
    return Frames(pl.DataFrame(hh_rows, schema=HOUSEHOLD_SCHEMA, orient="row"),
                  pl.DataFrame(mem_rows, schema=MEMBER_SCHEMA, orient="row"))


def write_snapshot(frames: Frames, directory: Path) -> None:
    """Write a Parquet snapshot (households.parquet + members.parquet)."""
    directory.mkdir(parents=True, exist_ok=True)
    frames.households.write_parquet(directory / "households.parquet")
    frames.members.write_parquet(directory / "members.parquet")


def read_snapshot(directory: Path) -> Frames:
    """Read a Parquet snapshot written by :func:`write_snapshot` (or by the synthetic generator)."""
    hh_path, mem_path = directory / "households.parquet", directory / "members.parquet"
    for path in (hh_path, mem_path):
        if not path.exists():
            raise FileNotFoundError(f"快照缺少文件 {path}")
    return conform(Frames(pl.read_parquet(hh_path), pl.read_parquet(mem_path)))
