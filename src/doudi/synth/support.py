"""What the registry records for the rules on support (特困人员认定办法 Arts. 8, 24; 审核确认办法): schooling
stage, civil capacity, legal supporters living elsewhere (per person, or not recorded), current 特困 and
低保 status, 供养方式, and former 建档立卡 households. Distributions in params.yaml `support_status`."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from doudi.synth.attributes import nullable

STAGE = {"preschool": "preschool", "primary": "primary", "junior": "junior_secondary", "senior": "senior_high",
         "vocational": "secondary_vocational", "college": "higher_vocational", "undergraduate": "undergraduate",
         "postgraduate": "postgraduate"}


def _draw(rng: np.random.Generator, block: dict[Any, Any], n: int) -> np.ndarray:
    keys = [int(k) for k in block]
    p = np.array([float(block[k]) for k in block], dtype=np.float64)
    return np.array(keys)[rng.choice(len(keys), size=n, p=p / p.sum())]


def add_support_status(params: dict[str, Any], hh: pl.DataFrame, persons: pl.DataFrame, tail_of: np.ndarray,
                       rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Person columns (schooling_stage, no_civil_capacity, supporters_elsewhere_*, extreme_poverty_supported,
    dibao_recipient, support_mode) and household columns (has_capable_supporter, former_registered_poor)."""
    s = params["support_status"]
    n = persons.height
    age = persons["age"].to_numpy()
    hh_idx = persons["hh"].to_numpy()
    tail = tail_of[hh_idx]
    slot = persons["slot_code"].to_numpy()
    grade = persons["disability_grade"].fill_null(9).to_numpy()
    cat = persons["disability_category"].fill_null("").to_numpy()
    status = persons["child_status"].fill_null("").to_numpy()
    counted = persons["counted_registry"].to_numpy()
    severe_im = np.isin(cat, ["intellectual", "mental"]) & (grade <= 2)
    no_capacity = severe_im & (age >= 18) & (rng.random(n) < float(s["no_civil_capacity_share_severe_im"]))
    no_labour = (age >= 60) | (age < 18) | (grade <= 2) | (np.isin(cat, ["intellectual", "mental"]) & (grade <= 3))

    # Supporters living elsewhere, where they matter: elderly, adults without labour capacity, children not
    # living with a parent. Some are not recorded (the registry is incomplete; the rules then say 待核实).
    no_parent_here = (age < 18) & (slot == "G")
    matters = (age >= 60) | (no_labour & (age >= 18)) | no_parent_here | np.isin(status, ["orphan_community",
                                                                                           "de_facto_unsupported"])
    recorded = matters & (rng.random(n) < float(s["supporters_recorded_share"]))
    count = np.where(age >= 60, _draw(rng, s["children_elsewhere_elderly"], n),
                     np.where(age < 18, 2, _draw(rng, s["supporters_elsewhere_adult"], n)))
    count = np.where(np.isin(status, ["orphan_community", "orphan_institution"]), 0, count)
    p_unable = np.where(tail, float(s["unable_share_low_income"]), float(s["unable_share"]))
    p_unable = np.where(status == "de_facto_unsupported", 1.0, p_unable)
    unverified = rng.binomial(count, float(s["unverified_share"]))
    unable = rng.binomial(count - unverified, p_unable)
    able = count - unverified - unable

    # Current 特困: low-income households, no labour capacity, no able supporter recorded elsewhere, and no
    # working-age adult able to work in the household.
    working_adult = (age >= 18) & (age < 60) & ~no_labour
    hh_working = np.bincount(hh_idx, weights=working_adult & counted, minlength=hh.height)[hh_idx]
    ep = (tail & no_labour & (age >= 18) & recorded & (able == 0) & (hh_working == 0) & counted
          & (status == "") & (rng.random(n) < float(s["extreme_poverty_enrolled_share"])))
    mode = np.where(ep, np.where(rng.random(n) < float(s["centralized_share"]), "centralized", "dispersed"), "")
    # Current 低保: most low-income households are enrolled (all their counted members not supported as 特困).
    enrolled_hh = rng.random(hh.height) < float(s["dibao_enrolled_share_low_income"])
    dibao = tail & enrolled_hh[hh_idx] & counted & ~ep

    school = persons["school_stage"].to_numpy() if "school_stage" in persons.columns else np.full(n, None)
    persons = persons.with_columns(
        schooling_stage=pl.Series([STAGE.get(x) if x else None for x in school], dtype=pl.Utf8),
        no_civil_capacity=pl.Series(no_capacity),
        supporters_elsewhere_able=pl.Series(np.where(recorded, able, -1)).replace(-1, None).cast(pl.Int16),
        supporters_elsewhere_unable=pl.Series(np.where(recorded, unable, -1)).replace(-1, None).cast(pl.Int16),
        supporters_elsewhere_unverified=pl.Series(np.where(recorded, unverified, -1)).replace(-1, None)
        .cast(pl.Int16),
        extreme_poverty_supported=pl.Series(ep),
        dibao_recipient=pl.Series(dibao),
        support_mode=nullable(mode),
    )
    # An older registry only flagged elderly-only households where nobody is recorded individually.
    elderly_only = persons.group_by("hh").agg(old=(pl.col("age") >= 60).all(),
                                             none=pl.col("supporters_elsewhere_able").is_null().all()).sort("hh")
    flag_rng = rng.random(hh.height)
    flag = np.where(elderly_only["old"].to_numpy() & elderly_only["none"].to_numpy(),
                    np.where(flag_rng < float(s["household_flag_capable_share"]), "1", "0"), "")
    inst = hh["institution"].to_numpy()
    rural = (hh["hukou_type"] == "rural").to_numpy()
    hh_tail = tail_of[: hh.height]
    former = rural & (rng.random(hh.height) < np.where(hh_tail, float(s["former_registered_poor_low_income"]),
                                                        float(s["former_registered_poor_other"])))
    hh = hh.with_columns(has_capable_supporter=pl.Series(np.where(inst, "0", flag)),
                         former_registered_poor=pl.Series(former & ~inst))
    return hh, persons
