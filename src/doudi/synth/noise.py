"""Controlled noise in agency feeds, with a manifest of every change so linkage quality can be measured.

Noise kinds (rates per row in params.yaml `noise`):
- name: name_homophone (同音字), name_similar (形近字), name_dropped_char, name_pinyin (written in pinyin);
- ID: id_missing, id_digit (one digit changed), id_transposition (two adjacent digits swapped),
  id_old_15_digit (first-generation 15-digit form, only for people born in the 1900s), id_lowercase_x;
- stale_address (a former address of someone else in the county), and for the hukou feed
  stale_status (a dead or moved-out person still listed as active);
- invalid_date / invalid_month: the row's dating column (the source's `period`) holds an impossible
  value (YYYY-02-30, YYYY-13). These are the only kinds that break the declared schema, so they are
  exactly the rows an ingest must quarantine; every other kind leaves a row that must be accepted.
A row may carry several kinds; the manifest has one line per (row, kind).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from doudi.synth.ids import to_15_digit
from doudi.synth.names import misspell
from doudi.synth.params import shares
from doudi.verification.sources import load_sources

MANIFEST_COLUMNS = ["source", "row_number", "noise_kind", "true_id_number"]


def _mistype_id(number: str, kind: str, rng: np.random.Generator) -> tuple[str, str]:
    if kind == "old_15_digit" and number[6:8] == "19":
        return to_15_digit(number), "old_15_digit"
    if kind == "lowercase_x" and number.endswith("X"):
        return number[:-1] + "x", "lowercase_x"
    if kind == "transposition":
        pos = [i for i in range(16) if number[i] != number[i + 1]]
        if pos:
            i = pos[int(rng.integers(0, len(pos)))]
            return number[:i] + number[i + 1] + number[i] + number[i + 2 :], "transposition"
    i = int(rng.integers(0, 17))
    digit = str((int(number[i]) + int(rng.integers(1, 10))) % 10)
    return number[:i] + digit + number[i + 1 :], "digit"


def _scatter(series: pl.Series, idx: np.ndarray, values: list[Any]) -> pl.Series:
    if len(idx) == 0:
        return series
    out = series.clone()
    out.scatter(idx, pl.Series(values, dtype=pl.Utf8))
    return out


def apply_noise(
    source: str, frame: pl.DataFrame, params: dict[str, Any], rng: np.random.Generator, stale_addresses: pl.Series
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return the feed with noise applied and the manifest rows; `frame` needs row_number and true_id."""
    nz = params["noise"]
    n = frame.height
    rows = frame["row_number"]
    true_ids = frame["true_id"]
    log: list[tuple[str, int, str, str]] = []

    def note(idx: np.ndarray, kinds: list[str]) -> None:
        for r, t, k in zip(rows.gather(idx).to_list(), true_ids.gather(idx).to_list(), kinds, strict=True):
            log.append((source, r, k, t))

    name_kinds, name_p = shares(nz["name_kinds"])
    idx = np.flatnonzero(rng.random(n) < float(nz["name_typo"]))
    new_names, kinds = [], []
    wanted = np.array(name_kinds)[rng.choice(len(name_kinds), size=len(idx), p=name_p)]
    for name, kind in zip(frame["name"].gather(idx).to_list(), wanted, strict=True):
        changed, applied = misspell(name, str(kind), rng)
        new_names.append(changed)
        kinds.append(f"name_{applied}")
    names = _scatter(frame["name"], idx, new_names)
    note(idx, kinds)

    u = rng.random(n)
    p_missing, p_typo = float(nz["id_missing"]), float(nz["id_mistyped"])
    missing = np.flatnonzero(u < p_missing)
    mistyped = np.flatnonzero((u >= p_missing) & (u < p_missing + p_typo))
    id_kinds, id_p = shares(nz["id_kinds"])
    new_ids, kinds = [], []
    wanted = np.array(id_kinds)[rng.choice(len(id_kinds), size=len(mistyped), p=id_p)]
    for number, kind in zip(frame["id_number"].gather(mistyped).to_list(), wanted, strict=True):
        changed, applied = _mistype_id(number, str(kind), rng)
        new_ids.append(changed)
        kinds.append(f"id_{applied}")
    ids = _scatter(frame["id_number"], mistyped, new_ids)
    ids = _scatter(ids, missing, [None] * len(missing))
    note(mistyped, kinds)
    note(missing, ["id_missing"] * len(missing))

    addresses = frame["address"]
    idx = np.flatnonzero(rng.random(n) < float(nz["stale_address"]))
    if len(stale_addresses) and len(idx):
        old = stale_addresses.gather(rng.integers(0, len(stale_addresses), size=len(idx)))
        differs = (old != addresses.gather(idx)).to_numpy()
        idx = idx[differs]
        addresses = _scatter(addresses, idx, old.filter(pl.Series(differs)).to_list())
        note(idx, ["stale_address"] * len(idx))

    out = frame.with_columns(name=names, id_number=ids, address=addresses)
    if source == "hukou":
        out, extra = _stale_status(out, nz, rng)
        log.extend(extra)
    out, extra = _invalid_period(source, out, nz, rng)
    log.extend(extra)
    manifest = (
        pl.DataFrame(log, schema=MANIFEST_COLUMNS, orient="row")
        if log
        else pl.DataFrame(schema=dict.fromkeys(MANIFEST_COLUMNS, pl.Utf8))
    )
    return out, manifest.with_columns(pl.col("row_number").cast(pl.Int64))


def _invalid_period(
    source: str, frame: pl.DataFrame, nz: dict[str, Any], rng: np.random.Generator
) -> tuple[pl.DataFrame, list[tuple[str, int, str, str]]]:
    """An impossible date or month in the row's dating column (the column is written as text)."""
    spec = load_sources()[source]
    if spec.period is None:
        return frame, []
    col, monthly = spec.period, spec.column(spec.period).type == "month"
    values = frame[col]
    text = values.dt.strftime("%Y-%m-%d") if values.dtype == pl.Date else values.cast(pl.Utf8)
    idx = np.flatnonzero((rng.random(frame.height) < float(nz["invalid_date"])) & text.is_not_null().to_numpy())
    broken = (text.gather(idx).str.slice(0, 4) + ("-13" if monthly else "-02-30")).to_list()
    kind = "invalid_month" if monthly else "invalid_date"
    rows, true_ids = frame["row_number"].to_numpy(), frame["true_id"].to_numpy()
    log = [(source, int(rows[i]), kind, str(true_ids[i])) for i in idx]
    return frame.with_columns(_scatter(text, idx, broken).alias(col)), log


def _stale_status(
    frame: pl.DataFrame, nz: dict[str, Any], rng: np.random.Generator
) -> tuple[pl.DataFrame, list[tuple[str, int, str, str]]]:
    status = frame["status"].to_numpy().astype(object)
    changed = (status != "active") & (rng.random(frame.height) < float(nz["stale_status"]))
    status[changed] = "active"
    idx = np.flatnonzero(changed)
    rows, true_ids = frame["row_number"].to_numpy(), frame["true_id"].to_numpy()
    log = [("hukou", int(rows[i]), "stale_status", str(true_ids[i])) for i in idx]
    return frame.with_columns(status=pl.Series(status, dtype=pl.Utf8)), log
