"""Link two person frames: exact ID where it holds, Splink's model scored in DuckDB elsewhere, then assignment.

Records whose valid ID number meets a corroborated partner are settled: the exact-ID rule pairs them and the
demographic rules skip them, so the probabilistic workload is the residue. Splink trains the model; the
candidate pairs and their scores are computed by score.py with the model's own SQL.

The pipeline is frame-in, frame-out and keyed by record, so it can be partitioned (by county or by ID
hash) when a province-size job outgrows one machine. A trained model is a plain dict (Splink's settings with
their m and u), so it can be stored per source and reused: a warm run skips training.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from doudi.verification.linkage import score
from doudi.verification.linkage.model import (
    ID_BOTH_VALID,
    ID_EQUAL,
    ID_MISSING,
    ID_OLD_NEW,
    LinkageConfig,
    comparisons,
    load_config,
    prediction_rules,
    training_rules,
)
from doudi.verification.linkage.prepare import prepare_persons

log = logging.getLogger("doudi.linkage")

FIELDS = ("id_number", "name", "dob", "sex", "address", "id_area")
PAIR_SCHEMA = {"left_id": pl.Utf8, "right_id": pl.Utf8, "match_probability": pl.Float64, "method": pl.Utf8}
EVIDENCE_SCHEMA = {**PAIR_SCHEMA, "match_weight": pl.Float64, "id_kind": pl.Utf8, "evidence": pl.Utf8}
ASSIGNMENTS = ("one_to_one", "best_per_left", "all")


@dataclass
class LinkResult:
    """Scored pairs after assignment, split by what should happen to them.

    Every frame has left_id, right_id, match_probability, method ('id' or 'probabilistic'), match_weight,
    id_kind (the ID comparison's level) and evidence (JSON: comparison → level, in model.py's labels).
    """

    accepted: pl.DataFrame
    review: pl.DataFrame  # between the review and auto-accept thresholds, or an exact ID the rest contradicts
    candidates: int  # pairwise comparisons the blocking rules generated (and the model scored)
    trained: bool  # True when u and m were estimated on these inputs, False when a stored/default model was used
    timings: dict[str, float] = field(default_factory=dict)  # wall seconds per phase
    parameters: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # comparison → level → m, u
    # Two different valid numbers whose name, sex and birth date agree: one person registered twice, or
    # namesakes. Never accepted; for the review queue marked "possible double registration".
    double: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=EVIDENCE_SCHEMA))
    model: dict[str, Any] = field(default_factory=dict)  # the model used (store it to reuse it)
    conflicts: pl.DataFrame = field(default_factory=lambda: pl.DataFrame())  # record_id, side, dob/sex vs ID
    cpu: dict[str, float] = field(default_factory=dict)  # process CPU seconds per phase (every thread)


def model_version() -> str:
    """A fingerprint of the comparisons and levels: a stored model of another version is not reused."""
    from splink import SettingsCreator  # Imported here: Splink is loaded only when records are linked.

    settings = SettingsCreator(link_type="link_only", unique_id_column_name="record_id", comparisons=comparisons())
    spec = settings.get_settings("duckdb").as_dict()["comparisons"]  # type: ignore[no-untyped-call]
    for comparison in spec:
        for level in comparison["comparison_levels"]:
            level.pop("m_probability", None)
            level.pop("u_probability", None)
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _settled(left: pl.DataFrame, right: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Mark records whose valid ID meets a partner that also agrees on pinyin name or birth date."""
    keys = ["id18", "name_py", "dob"]
    pairs = left.select(keys).drop_nulls("id18").join(right.select(keys).drop_nulls("id18"), on="id18", suffix="_r")
    ok = pairs.filter((pl.col("name_py") == pl.col("name_py_r")) | (pl.col("dob") == pl.col("dob_r")))
    ids = ok["id18"].unique()
    flag = pl.col("id18").is_in(ids.implode()).fill_null(False).alias("settled")
    return left.with_columns(flag), right.with_columns(flag)


def _weights(pairs: pl.DataFrame) -> pl.Series:
    """Match weights (log2 odds), from the column when present, else from the probability."""
    if "match_weight" in pairs.columns:
        return pairs["match_weight"]
    p = pairs["match_probability"].clip(1e-12, 1 - 1e-12)
    return (p / (1 - p)).log(2)


def _mutual_best(pairs: pl.DataFrame) -> pl.DataFrame:
    """Greedy assignment by descending weight, in vectorised rounds of pairs that are each side's best."""
    remaining = pairs.sort(["_w", "left_id", "right_id"], descending=[True, False, False])
    kept: list[pl.DataFrame] = []
    while remaining.height:
        best_l = remaining.group_by("left_id", maintain_order=True).first().select("left_id", "right_id")
        best_r = remaining.group_by("right_id", maintain_order=True).first().select("left_id", "right_id")
        chosen = remaining.join(best_l.join(best_r, on=["left_id", "right_id"]), on=["left_id", "right_id"],
                                how="semi")
        if chosen.height == 0:  # cannot happen with a strict order, but never loop forever
            break
        kept.append(chosen)
        remaining = remaining.join(chosen.select("left_id"), on="left_id", how="anti") \
            .join(chosen.select("right_id"), on="right_id", how="anti")
    return pl.concat(kept) if kept else pairs.clear()


def one_to_one(pairs: pl.DataFrame, *, exact_up_to: int = 64) -> pl.DataFrame:
    """Keep each record in at most one pair: a maximum-weight assignment, solved per connected component.

    A component that is a single pair (nearly all) is kept as it is; one where records compete for partners
    is solved exactly with the Hungarian method (scipy), maximising the summed match weight, so two records
    competing for one partner never both lose to a greedy choice. A component with more than `exact_up_to`
    records on a side (chains of near-identical records) is assigned greedily by weight.
    """
    # Imported here: scipy is needed only when an assignment is solved.
    import numpy as np
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if pairs.height == 0:
        return pairs
    columns = pairs.columns
    codes = pairs.select(pl.col("left_id").rank("dense").cast(pl.Int64) - 1,
                         pl.col("right_id").rank("dense").cast(pl.Int64) - 1)
    lcode, rcode = codes["left_id"].to_numpy(), codes["right_id"].to_numpy()
    n_l, n_r = int(lcode.max()) + 1, int(rcode.max()) + 1
    graph = coo_matrix((np.ones(len(lcode)), (lcode, n_l + rcode)), shape=(n_l + n_r, n_l + n_r))
    _, label = connected_components(graph, directed=False)
    framed = pairs.with_columns(_comp=pl.Series(label[lcode]), _w=_weights(pairs), _l=pl.Series(lcode),
                                _r=pl.Series(rcode))
    size = pl.len().over("_comp")
    kept = [framed.filter(size == 1)]
    multi = framed.filter(size > 1)
    if multi.height:
        wide = multi.select(pl.col("_l").n_unique().over("_comp").alias("a"),
                            pl.col("_r").n_unique().over("_comp").alias("b"))
        big = (wide["a"] > exact_up_to) | (wide["b"] > exact_up_to)
        kept.append(_mutual_best(multi.filter(big)))
        small = multi.filter(~big).sort("_comp")
        comp, lv, rv, wv = (small[c].to_numpy() for c in ("_comp", "_l", "_r", "_w"))
        take = np.zeros(small.height, dtype=bool)
        bounds = np.flatnonzero(np.diff(comp)) + 1
        for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, small.height], strict=True):
            ls, li = np.unique(lv[lo:hi], return_inverse=True)
            rs, ri = np.unique(rv[lo:hi], return_inverse=True)
            w = wv[lo:hi]
            # Absent pairs cost more than any present one; a tiny id-order term breaks ties deterministically.
            cost = np.full((len(ls), len(rs)), 1e9)
            cost[li, ri] = -(w - w.min() + 1.0) + 1e-9 * (li * len(rs) + ri)
            rows, cols = linear_sum_assignment(cost)
            ok = cost[rows, cols] < 1e8
            pick = np.zeros((len(ls), len(rs)), dtype=bool)
            pick[rows[ok], cols[ok]] = True
            take[lo:hi] = pick[li, ri]
        kept.append(small.filter(pl.Series(take)))
    return pl.concat(kept).select(columns).sort("left_id")


def best_per_left(pairs: pl.DataFrame) -> pl.DataFrame:
    """Many-to-one: each left record keeps its most probable partner (feed rows naming registry persons)."""
    return pairs.sort(["match_probability", "right_id"], descending=[True, False]).unique("left_id", keep="first")


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
    """Lift m probabilities the training data never reached, so no level can veto a match on its own; a level
    no training session observed among matches gets the floor (not Splink's generic starting value)."""
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            if not level._has_estimated_m_values or (level.m_probability or 0.0) < floor:
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


def _levels(linker: Any) -> dict[str, dict[int, str]]:
    """Comparison → gamma value → level label."""
    out: dict[str, dict[int, str]] = {}
    for comparison in linker._settings_obj.comparisons:
        out[comparison.output_column_name] = {
            int(level.comparison_vector_value): (ID_MISSING if level.is_null_level else level.label_for_charts)
            for level in comparison.comparison_levels}
    return out


def _prior(lp: pl.DataFrame, rp: pl.DataFrame) -> float:
    """λ, the chance that a random pair is a match: every record that can be matched is matched at most once."""
    share_valid = float(lp["id18"].is_not_null().sum()) / lp.height * float(rp["id18"].is_not_null().sum()) / rp.height
    settled = int(lp["settled"].cast(pl.Int64).sum())
    expected = max(settled / share_valid if share_valid > 0.05 else min(lp.height, rp.height) * 0.5, 1.0)
    return min(expected / (lp.height * rp.height), 0.5)


def _conflicts(lp: pl.DataFrame, rp: pl.DataFrame) -> pl.DataFrame:
    """Records whose own birth date or sex disagrees with what their valid ID number says."""
    parts = [p.filter(pl.col("dob_conflict") | pl.col("sex_conflict"))
             .select("record_id", pl.lit(side).alias("side"), "dob_conflict", "sex_conflict")
             for side, p in (("left", lp), ("right", rp))]
    return pl.concat(parts)


def link_frames(
    left: pl.DataFrame,
    right: pl.DataFrame,
    *,
    config: LinkageConfig | None = None,
    train: bool | None = None,
    assignment: str = "one_to_one",
    prior: float | None = None,
    model: dict[str, Any] | None = None,
    labels: pl.DataFrame | None = None,
) -> LinkResult:
    """Score every candidate pair of LEFT × RIGHT and return accepted, for-review and double-registration pairs.

    `model`: a stored model (LinkResult.model of an earlier run of the same model_version) to score with,
    skipping training. Otherwise `train=None` estimates the model on the inputs when both sides are large
    enough and falls back to the packaged parameters. Training takes u from random pairs and m from the
    pairs an equal valid ID number proves (plus `labels`: left_id, right_id pairs a reviewer confirmed), then
    the ID comparison's own m by expectation maximisation over same-name, same-birth-date pairs.
    `assignment`: 'one_to_one' (two deduplicated person lists: an assignment over accepted pairs),
    'best_per_left' (many left records may name one right person, as feed rows name registry persons), or
    'all' (every scored pair).
    """
    if assignment not in ASSIGNMENTS:
        raise ValueError(f"assignment must be one of {', '.join(ASSIGNMENTS)}")
    # Imported here: Splink (and its DuckDB backend) is loaded only when records are linked.
    import splink.comparison_library  # noqa: F401  (import early so Splink's warnings are configured once)
    from splink import DuckDBAPI, Linker, SettingsCreator

    cfg = config or load_config()
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    t0, c0 = time.perf_counter(), time.process_time()
    lp, rp = _settled(prepare_persons(left), prepare_persons(right))
    if assignment != "one_to_one":  # a right record may be named by several left ones: it never stops competing
        rp = rp.with_columns(pl.lit(False).alias("settled"))
    if lp["record_id"].is_duplicated().any() or rp["record_id"].is_duplicated().any():
        raise ValueError("record_id must be unique within each input")
    timings["prepare"] = time.perf_counter() - t0
    cpu["prepare"] = time.process_time() - c0
    empty = pl.DataFrame(schema=EVIDENCE_SCHEMA)
    if lp.height == 0 or rp.height == 0:
        return LinkResult(empty, empty.clone(), 0, False, timings)
    lam = prior if prior is not None else _prior(lp, rp)
    if labels is not None and labels.height:  # a confirmed pair shares a label, as an equal valid ID does
        tag = labels.select(pl.col("left_id").alias("record_id"),
                            pl.format("review:{}", pl.int_range(pl.len())).alias("_tag"))
        tag_r = labels.select(pl.col("right_id").alias("record_id"),
                              pl.format("review:{}", pl.int_range(pl.len())).alias("_tag"))
        lp = lp.join(tag, on="record_id", how="left").with_columns(pl.coalesce("_tag", "id18").alias("label")) \
            .drop("_tag")
        rp = rp.join(tag_r, on="record_id", how="left").with_columns(pl.coalesce("_tag", "id18").alias("label")) \
            .drop("_tag")
    else:
        lp, rp = lp.with_columns(pl.col("id18").alias("label")), rp.with_columns(pl.col("id18").alias("label"))

    t0, c0 = time.perf_counter(), time.process_time()
    db = DuckDBAPI()
    con = db.duckdb_con
    con.execute("SET preserve_insertion_order = false")
    sl = db.register(lp.to_arrow(), table_name="lk_left")
    sr = db.register(rp.to_arrow(), table_name="lk_right")
    version = model_version()
    use_stored = model is not None and model.get("doudi_model_version") == version
    if model is not None and not use_stored:
        log.warning("stored linkage model is of another version; training afresh")
    if use_stored:
        assert model is not None
        settings: Any = {k: v for k, v in model.items() if k != "doudi_model_version"}
        settings["blocking_rules_to_generate_predictions"] = prediction_rules()
        settings["probability_two_random_records_match"] = lam
        settings["retain_matching_columns"] = True
        settings["retain_intermediate_calculation_columns"] = False
    else:
        settings = SettingsCreator(
            link_type="link_only",
            unique_id_column_name="record_id",
            comparisons=comparisons(),
            blocking_rules_to_generate_predictions=list(prediction_rules()),  # type: ignore[arg-type]
            probability_two_random_records_match=lam,
            retain_matching_columns=True,  # with them the comparison levels (gamma): the evidence per field
            retain_intermediate_calculation_columns=False,
        )
    linker = Linker([sl, sr], settings, log_level=logging.WARNING)
    do_train = False
    if not use_stored:
        do_train = train if train is not None else min(lp.height, rp.height) >= cfg.min_records_to_train
        if do_train:
            linker.training.estimate_u_using_random_sampling(max_pairs=cfg.u_max_pairs, seed=cfg.seed)
            linker.training.estimate_m_from_label_column("label")
            for rule in training_rules():
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule, max_pairs=cfg.em_max_pairs, estimate_without_term_frequencies=True,
                )
            _floor_m(linker, cfg.m_floor)
        else:
            _default_model(linker, cfg.defaults)
    timings["train" if do_train else "load"] = time.perf_counter() - t0
    cpu["train" if do_train else "load"] = time.process_time() - c0

    t0, c0 = time.perf_counter(), time.process_time()
    # The model's own comparison SQL on pairs keyed by row number (score.py): Splink's predict, faster.
    score.register(con, linker._settings_obj, lp, rp)
    candidates = score.block(con, prediction_rules())
    levels = _levels(linker)
    gamma = {name: f"gamma_{name}" for name in levels}
    inv = {name: {label: g for g, label in lv.items()} for name, lv in levels.items()}
    both_valid = inv["id_number"][ID_BOTH_VALID]
    # Two different valid numbers with the same name (or its sound), sex and birth date: never a typo and
    # never accepted, whatever the score; kept apart for the review queue as a possible double registration.
    double_sql = (f"gamma_id_number = {both_valid} AND gamma_name IN ({inv['name']['Exact match on name']}, "
                  f"{inv['name']['same pinyin (homophone)']}) AND gamma_dob = {inv['dob']['Exact match on dob']} "
                  f"AND gamma_sex = {inv['sex']['Exact match on sex']}")
    cols = ", ".join(f"{g} AS g_{name}" for name, g in gamma.items())
    scored = pl.from_arrow(con.sql(
        f"SELECT record_id_l AS left_id, record_id_r AS right_id, match_probability, match_weight, {cols}, "
        f"({double_sql}) AS double FROM ({score.predict_sql(linker._settings_obj)}) "
        f"WHERE match_probability >= {cfg.thresholds.review} OR ({double_sql})").to_arrow_table())
    timings["predict"] = time.perf_counter() - t0
    cpu["predict"] = time.process_time() - c0
    assert isinstance(scored, pl.DataFrame)

    t0, c0 = time.perf_counter(), time.process_time()
    label_exprs = {name: pl.col(f"g_{name}").replace_strict(list(lv), list(lv.values()), default=None,
                                                           return_dtype=pl.Utf8) for name, lv in levels.items()}
    # A record whose own birth date or sex disagrees with its valid number: said beside the pair's evidence.
    flags = []
    for side, frame in (("left", lp), ("right", rp)):
        marked = frame.filter(pl.col("dob_conflict") | pl.col("sex_conflict")).select(
            pl.col("record_id").alias(f"{side}_id"),
            pl.concat_str([pl.when(pl.col("dob_conflict")).then(pl.lit(f"dob_{side}")),
                           pl.when(pl.col("sex_conflict")).then(pl.lit(f"sex_{side}"))],
                          separator=",", ignore_nulls=True).alias(f"_c_{side}"))
        scored = scored.join(marked, on=f"{side}_id", how="left")
        flags.append(pl.col(f"_c_{side}"))
    conflict = pl.concat_str(flags, separator=",", ignore_nulls=True)
    scored = scored.with_columns(
        label_exprs["id_number"].alias("id_kind"),
        pl.struct([*(e.alias(name) for name, e in label_exprs.items()),
                   pl.when(conflict != "").then(conflict).alias("id_conflict")])
        .struct.json_encode().alias("evidence"),
    ).with_columns(
        pl.when(pl.col("id_kind").is_in([ID_EQUAL, ID_OLD_NEW])).then(pl.lit("id"))
        .otherwise(pl.lit("probabilistic")).alias("method"),
    )
    double = scored.filter(pl.col("double")).select(list(EVIDENCE_SCHEMA)).sort("left_id", "right_id")
    scored = scored.filter(~pl.col("double")).select(list(EVIDENCE_SCHEMA))
    th = cfg.thresholds
    is_accept = (pl.col("match_probability") >= th.auto_accept) & (
        (pl.col("method") != "id") | (pl.col("match_probability") >= th.exact_id_min)
    )
    if assignment == "one_to_one":
        accepted = one_to_one(scored.filter(is_accept))
        rest = scored.filter(~is_accept).join(accepted.select("left_id"), on="left_id", how="anti") \
            .join(accepted.select("right_id"), on="right_id", how="anti")
        review = best_per_left(rest).sort("match_probability", "right_id", descending=[True, False]) \
            .unique("right_id", keep="first")
    elif assignment == "best_per_left":
        chosen = best_per_left(scored)
        accepted, review = chosen.filter(is_accept), chosen.filter(~is_accept)
    else:
        accepted, review = scored.filter(is_accept), scored.filter(~is_accept)
    timings["assign"] = time.perf_counter() - t0
    cpu["assign"] = time.process_time() - c0
    stored = linker.misc.save_model_to_json()
    stored["doudi_model_version"] = version
    return LinkResult(accepted.sort("left_id"), review.sort("match_probability", descending=True), candidates,
                      do_train, timings, model_parameters(linker), double, stored, _conflicts(lp, rp), cpu)

