"""Link two person frames: exact ID where it holds, Splink (DuckDB) scoring elsewhere, then one-to-one.

The pipeline is frame-in, frame-out and keyed by record, so it can be partitioned (by county or by ID
hash) when a province-size job outgrows one machine.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from doudi.verification.linkage.model import LinkageConfig, comparisons, load_config, prediction_rules, training_rules
from doudi.verification.linkage.prepare import prepare_persons

log = logging.getLogger("doudi.linkage")

PAIR_SCHEMA = {"left_id": pl.Utf8, "right_id": pl.Utf8, "match_probability": pl.Float64, "method": pl.Utf8}


@dataclass
class LinkResult:
    """Scored pairs after one-to-one assignment, split by what should happen to them."""

    accepted: pl.DataFrame  # left_id, right_id, match_probability, method ('id' or 'probabilistic')
    review: pl.DataFrame  # same columns; between the review and auto-accept thresholds
    candidates: int  # pairwise comparisons the blocking rules generated (and the model scored)
    trained: bool  # True when u and m were estimated on these inputs, False when defaults were used
    timings: dict[str, float] = field(default_factory=dict)
    parameters: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # comparison → level → m, u


def _settled(left: pl.DataFrame, right: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Mark records whose valid ID meets a partner that also agrees on pinyin name or birth date."""
    keys = ["id18", "name_py", "dob"]
    pairs = left.select(keys).drop_nulls("id18").join(right.select(keys).drop_nulls("id18"), on="id18", suffix="_r")
    ok = pairs.filter((pl.col("name_py") == pl.col("name_py_r")) | (pl.col("dob") == pl.col("dob_r")))
    ids = ok["id18"].unique()
    flag = pl.col("id18").is_in(ids.implode()).fill_null(False).alias("settled")
    return left.with_columns(flag), right.with_columns(flag)


def one_to_one(pairs: pl.DataFrame) -> pl.DataFrame:
    """Keep each record in at most one pair: repeatedly accept pairs that are each side's best remaining.

    Mutual-best rounds give the same result as greedy assignment by descending probability on these
    sparse graphs, while staying vectorised; ties break on the ids so the result is deterministic.
    """
    remaining = pairs.sort(["match_probability", "left_id", "right_id"], descending=[True, False, False])
    kept: list[pl.DataFrame] = []
    while remaining.height:
        best_l = remaining.group_by("left_id", maintain_order=True).first().select("left_id", "right_id")
        best_r = remaining.group_by("right_id", maintain_order=True).first().select("left_id", "right_id")
        mutual = best_l.join(best_r, on=["left_id", "right_id"])
        if mutual.height == 0:  # cannot happen with a strict order, but never loop forever
            break
        chosen = remaining.join(mutual, on=["left_id", "right_id"], how="semi")
        kept.append(chosen)
        remaining = remaining.filter(
            ~pl.col("left_id").is_in(chosen["left_id"].implode())
            & ~pl.col("right_id").is_in(chosen["right_id"].implode())
        )
    return pl.concat(kept) if kept else pairs.clear()


def model_parameters(linker: Any) -> dict[str, dict[str, dict[str, float]]]:
    """The m and u probability of every non-null comparison level, keyed by comparison and level label."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for comparison in linker._settings_obj.comparisons:
        levels = out.setdefault(comparison.output_column_name, {})
        for level in comparison.comparison_levels:
            if not level.is_null_level:
                levels[level.label_for_charts] = {"m": round(float(level.m_probability), 6),
                                                  "u": round(float(level.u_probability), 8)}
    return out


def _floor_m(linker: Any, floor: float) -> None:
    """Lift m probabilities the training data never reached, so no level can veto a match on its own."""
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if not level.is_null_level and (level.m_probability or 0.0) < floor:
                level.m_probability = floor


def _default_model(linker: Any, defaults: dict[str, Any]) -> None:
    """Apply the packaged m and u probabilities, level by level, to an untrained linker."""
    for comparison in linker._settings_obj.comparisons:
        levels = defaults.get(comparison.output_column_name, {})
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            params = levels.get(level.label_for_charts)
            if params:
                level.m_probability = float(params["m"])
                level.u_probability = float(params["u"])


def link_frames(
    left: pl.DataFrame,
    right: pl.DataFrame,
    *,
    config: LinkageConfig | None = None,
    train: bool | None = None,
    assignment: str = "one_to_one",
    prior: float | None = None,
) -> LinkResult:
    """Score every candidate pair of LEFT × RIGHT and return accepted and for-review pairs.

    `train=None` estimates the model on the inputs when both sides are large enough to do so reliably
    and falls back to the packaged parameters otherwise. `assignment`: 'one_to_one' (two person lists),
    'best_per_left' (many left records may name one right person, as feed rows name registry persons), or
    'all' (every scored pair).
    """
    # Imported here: Splink (and its DuckDB backend) is loaded only when records are linked.
    import splink.comparison_library  # noqa: F401  (import early so Splink's warnings are configured once)
    from splink import DuckDBAPI, Linker, SettingsCreator

    cfg = config or load_config()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    lp, rp = _settled(prepare_persons(left), prepare_persons(right))
    if lp["record_id"].is_duplicated().any() or rp["record_id"].is_duplicated().any():
        raise ValueError("record_id must be unique within each input")
    timings["prepare"] = time.perf_counter() - t0
    empty = pl.DataFrame(schema=PAIR_SCHEMA)
    if lp.height == 0 or rp.height == 0:
        return LinkResult(empty, empty.clone(), 0, False, timings)

    # λ, the chance that a random pair is a match: every record that can be matched is matched at most once.
    share_valid = float(lp["id18"].is_not_null().sum()) / lp.height * float(rp["id18"].is_not_null().sum()) / rp.height
    settled = int(lp["settled"].cast(pl.Int64).sum())
    expected = max(settled / share_valid if share_valid > 0.05 else min(lp.height, rp.height) * 0.5, 1.0)
    lam = prior if prior is not None else min(expected / (lp.height * rp.height), 0.5)

    t0 = time.perf_counter()
    db = DuckDBAPI()
    con = db.duckdb_con
    con.execute("SET preserve_insertion_order = false")
    sl = db.register(lp.to_arrow(), table_name="lk_left")
    sr = db.register(rp.to_arrow(), table_name="lk_right")
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="record_id",
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=list(prediction_rules()),  # type: ignore[arg-type]
        probability_two_random_records_match=lam,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker([sl, sr], settings, log_level=logging.WARNING)
    do_train = train if train is not None else min(lp.height, rp.height) >= cfg.min_records_to_train
    if do_train:
        linker.training.estimate_u_using_random_sampling(max_pairs=cfg.u_max_pairs, seed=cfg.seed)
        for rule in training_rules():
            linker.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=cfg.em_max_pairs, estimate_without_term_frequencies=True,
            )
        _floor_m(linker, cfg.m_floor)
    else:
        _default_model(linker, cfg.defaults)
    timings["train"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    blocked = linker.inference.compute_blocked_pairs_for_predict()
    candidates = int(con.execute(f"SELECT count(*) FROM {blocked.physical_name}").fetchall()[0][0])
    linker.table_management.register_blocked_pairs_for_predict(blocked)
    pred = linker.inference.predict(threshold_match_probability=cfg.thresholds.review, warning_mode="never")
    scored = pl.from_arrow(
        con.sql(f"SELECT record_id_l AS left_id, record_id_r AS right_id, match_probability, "
                f"lk_left.id18 = lk_right.id18 AS exact_id FROM {pred.physical_name} AS p "
                f"JOIN lk_left ON lk_left.record_id = p.record_id_l "
                f"JOIN lk_right ON lk_right.record_id = p.record_id_r").to_arrow_table()
    )
    timings["predict"] = time.perf_counter() - t0
    assert isinstance(scored, pl.DataFrame)
    scored = scored.with_columns(
        pl.when(pl.col("exact_id").fill_null(False)).then(pl.lit("id")).otherwise(pl.lit("probabilistic"))
        .alias("method")
    ).drop("exact_id")

    t0 = time.perf_counter()
    if assignment == "one_to_one":
        chosen = one_to_one(scored)
    elif assignment == "best_per_left":
        chosen = scored.sort(["match_probability", "right_id"], descending=[True, False]).unique("left_id",
                                                                                               keep="first")
    else:
        chosen = scored
    th = cfg.thresholds
    is_accept = (pl.col("match_probability") >= th.auto_accept) & (
        (pl.col("method") != "id") | (pl.col("match_probability") >= th.exact_id_min)
    )
    accepted = chosen.filter(is_accept).sort("left_id")
    review = chosen.filter(~is_accept).sort("match_probability", descending=True)
    timings["assign"] = time.perf_counter() - t0
    return LinkResult(accepted.select(list(PAIR_SCHEMA)), review.select(list(PAIR_SCHEMA)), candidates, do_train,
                      timings, model_parameters(linker))
