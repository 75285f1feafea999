"""Candidate pairs and their scores in DuckDB, keyed by row number, with the model's own SQL.

Splink generates the comparison and match-weight SQL of a model; running it here on pairs keyed by integer
row numbers (rather than through Splink's pair tables, keyed by concatenated strings, and its blocking rules
each re-checking every earlier rule) scores the same pairs to the same weights in a fraction of the time.
"""

from __future__ import annotations

from typing import Any

import polars as pl

PAIRS = "lk_pairs"
SIDES = (("lk_l", "lk_left"), ("lk_r", "lk_right"))  # the registered table and its Splink source_dataset


def register(con: Any, settings: Any, left: pl.DataFrame, right: pl.DataFrame) -> None:
    """Register both prepared sides with a row number `_i` and the term frequency of every column the model
    adjusts by it (shares of the non-null values of both sides together, as Splink computes them)."""
    frames = [left.with_row_index("_i"), right.with_row_index("_i")]
    for column in settings._term_frequency_columns:
        name = column.unquote().name
        values = pl.concat([f[name] for f in frames]).drop_nulls()
        tf = values.value_counts(name="_n").select(name, (pl.col("_n") / max(values.len(), 1)).alias(f"tf_{name}"))
        frames = [f.join(tf, on=name, how="left") for f in frames]
    for (table, source), frame in zip(SIDES, frames, strict=True):
        con.register(table, frame.with_columns(pl.lit(source).alias("source_dataset")).to_arrow())


def block(con: Any, rules: list[str]) -> int:
    """Create the candidate pairs (li, ri, match_key: the first rule that pairs them) and count them."""
    parts = [f"SELECT l._i AS li, r._i AS ri, {k} AS k FROM {SIDES[0][0]} AS l JOIN {SIDES[1][0]} AS r ON {rule}"
             for k, rule in enumerate(rules)]
    con.execute(f"CREATE OR REPLACE TABLE {PAIRS} AS SELECT li, ri, CAST(min(k) AS VARCHAR) AS match_key "
                f"FROM ({' UNION ALL '.join(parts)}) GROUP BY li, ri")
    return int(con.execute(f"SELECT count(*) FROM {PAIRS}").fetchall()[0][0])


def predict_sql(settings: Any) -> str:
    """A query of every candidate pair with Splink's predict columns (match_weight, match_probability,
    record_id_l/_r, gamma_* when the settings retain the matching columns)."""
    # Imported here: Splink is loaded only when records are linked.
    from splink.internals.comparison_vector_values import compute_comparison_vector_values_sql
    from splink.internals.predict import predict_from_comparison_vectors_sqls_using_settings

    blocked = (f"SELECT {', '.join(settings._columns_to_select_for_blocking)}, b.match_key FROM {PAIRS} AS b "
               f"JOIN {SIDES[0][0]} AS l ON l._i = b.li JOIN {SIDES[1][0]} AS r ON r._i = b.ri")
    ctes = [("__splink__df_blocked", blocked),
            ("__splink__df_comparison_vectors",
             compute_comparison_vector_values_sql(settings._columns_to_select_for_comparison_vector_values))]
    ctes += [(q["output_table_name"], q["sql"]) for q in predict_from_comparison_vectors_sqls_using_settings(settings)]
    return "WITH " + ",\n".join(f"{name} AS ({sql})" for name, sql in ctes) + f"\nSELECT * FROM {ctes[-1][0]}"
