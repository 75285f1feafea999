"""Files of a generated county: determinism, feed schemas, the noise manifest, registry validity, Jiangmen."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from doudi.core.ids import convert_15_to_18, is_valid_id
from doudi.registry.import_checks import normalise, validate
from doudi.registry.import_read import read_table
from doudi.synth.generate import SynthConfig, build_world, generate
from doudi.verification.sources import load_sources

County = tuple[Path, dict[str, Any]]


def _hashes(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = generate(SynthConfig(households=150, seed=3), tmp_path / "a", show_progress=False)
    b = generate(SynthConfig(households=150, seed=3), tmp_path / "b", show_progress=False)
    c = generate(SynthConfig(households=150, seed=4), tmp_path / "c", show_progress=False)
    ha, hb, hc = _hashes(tmp_path / "a"), _hashes(tmp_path / "b"), _hashes(tmp_path / "c")
    assert ha == hb and len(ha) == 23  # 9 base files (with enrollments.csv) + 13 feeds + noise.csv
    assert a["files"] == ha
    differs = {k for k in ha if ha[k] != hc[k]}
    assert differs == set(ha) - {"areas.csv"}  # areas depend on the region only
    assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
    assert c["seed"] == 4


def test_manifest_counts_match_files(county: County) -> None:
    out, manifest = county
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["seed"] == 7
    assert manifest["counts"]["households.csv"] == pl.read_csv(out / "households.csv", infer_schema=False).height
    assert manifest["counts"]["feeds/tax.csv"] == pl.read_csv(out / "feeds" / "tax.csv", infer_schema=False).height
    assert manifest["households"] == pl.read_parquet(out / "ground_truth.parquet").height


def test_every_declared_source_has_a_feed_with_exactly_its_columns(county: County) -> None:
    out, _ = county
    sources = load_sources()
    files = {p.stem for p in (out / "feeds").glob("*.csv")} - {"noise"}
    assert files == set(sources)
    for key, source in sources.items():
        feed = pl.read_csv(out / "feeds" / f"{key}.csv", infer_schema=False)
        assert feed.columns == ["record_id", *(c for c in source.column_names if c != "record_id")], key
        assert feed.height > 0, key
        assert feed["record_id"].to_list() == [f"{key}-{i:08d}" for i in range(1, feed.height + 1)]
        for col in source.columns:
            if col.type == "enum":
                assert set(feed[col.name].drop_nulls().unique()) <= set(col.values), (key, col.name)


def test_noise_rows_match_the_manifest(county: County) -> None:
    out, _ = county
    truth = pl.read_parquet(out / "ground_truth_persons.parquet")
    name_of = dict(zip(truth["id_number"].to_list(), truth["name"].to_list(), strict=True))
    registry = pl.read_csv(out / "households.csv", infer_schema=False)
    address_of = dict(zip(registry["id_number"].to_list(), registry["address"].to_list(), strict=True))
    noise = pl.read_csv(out / "feeds" / "noise.csv", infer_schema=False).with_columns(pl.col("row_number").cast(int))
    assert noise.height > 0
    total_rows = 0
    sources = load_sources()
    for key in sources:
        feed = pl.read_csv(out / "feeds" / f"{key}.csv", infer_schema=False)
        total_rows += feed.height
        mine = noise.filter(pl.col("source") == key)
        noisy = set(mine["row_number"].to_list())
        for r in mine.iter_rows(named=True):
            rec = feed.row(r["row_number"] - 1, named=True)
            true_id, kind = r["true_id_number"], r["noise_kind"]
            if kind == "id_missing":
                assert rec["id_number"] is None
            elif kind in {"id_digit", "id_transposition"}:
                assert len(rec["id_number"]) == 18 and rec["id_number"] != true_id
                assert not is_valid_id(rec["id_number"])  # GB 11643 catches one changed or swapped digit
            elif kind == "id_old_15_digit":
                assert convert_15_to_18(rec["id_number"]) == true_id
            elif kind == "id_lowercase_x":
                assert rec["id_number"] == true_id.lower()
            elif kind.startswith("name_"):
                assert rec["name"] != name_of[true_id]
            elif kind == "stale_address":
                assert rec["address"] != address_of[true_id]
            elif kind == "stale_status":
                assert key == "hukou" and rec["status"] == "active"
            elif kind == "invalid_date":  # an impossible day in the dating column: 30 February
                assert rec[str(sources[key].period)][4:] == "-02-30", (key, rec)
            elif kind == "invalid_month":
                assert rec[str(sources[key].period)][4:] == "-13", (key, rec)
            else:
                raise AssertionError(f"undocumented noise kind {kind}")
        # Rows without ID or name noise carry the true ID and the true name.
        id_noisy = set(mine.filter(pl.col("noise_kind").str.starts_with("id_"))["row_number"].to_list())
        name_noisy = set(mine.filter(pl.col("noise_kind").str.starts_with("name_"))["row_number"].to_list())
        for i, rec in enumerate(feed.iter_rows(named=True), start=1):
            if i not in id_noisy:
                assert rec["id_number"] in name_of, (key, i)
                if i not in name_noisy:
                    assert rec["name"] == name_of[rec["id_number"]], (key, i)
        assert noisy <= set(range(1, feed.height + 1))
    name_share = noise.filter(pl.col("noise_kind").str.starts_with("name_")).height / total_rows
    assert 0.01 < name_share < 0.03  # params.yaml noise.name_typo = 0.02 per row


def test_feeds_tell_the_truth_households_hide(county: County) -> None:
    out, _ = county
    gt = pl.read_parquet(out / "ground_truth.parquet")
    truth = pl.read_parquet(out / "ground_truth_persons.parquet")
    assets = pl.read_parquet(out / "assets.parquet")
    vehicles = pl.read_csv(out / "feeds" / "vehicle.csv", infer_schema=False)
    hid = gt.filter("hidden_car")["household_no"].to_list()
    assert hid, "the sample should contain a hidden car"
    owners = truth.filter(pl.col("household_no").is_in(hid))["id_number"]
    assert vehicles.filter(pl.col("id_number").is_in(owners.implode()) & (pl.col("vehicle_type") == "car")).height
    declared_cars = assets.filter(pl.col("household_no").is_in(hid) & pl.col("description").str.starts_with("小汽车"))
    assert declared_cars.height == 0
    under = gt.filter("under_declared_wage")
    assert under.height and (under["declared_income_total"] < under["true_income_total"]).all()
    dead = truth.filter(pl.col("true_death_date").is_not_null())
    hukou = pl.read_csv(out / "feeds" / "hukou.csv", infer_schema=False).with_row_index("row_number", offset=1)
    noise = pl.read_csv(out / "feeds" / "noise.csv", infer_schema=False).filter(pl.col("source") == "hukou")
    stale = noise.filter(pl.col("noise_kind") == "stale_status")["row_number"].cast(pl.UInt32)
    listed = hukou.filter(pl.col("id_number").is_in(dead["id_number"].implode()))
    assert listed.height and set(listed.filter(~pl.col("row_number").is_in(stale.implode()))["status"]) == {"cancelled"}
    deaths = pl.read_csv(out / "feeds" / "death.csv", infer_schema=False)
    assert set(dead["id_number"]) <= set(deaths["id_number"].drop_nulls()) | set(
        pl.read_csv(out / "feeds" / "noise.csv", infer_schema=False).filter(pl.col("source") == "death")[
            "true_id_number"
        ]
    )


def test_registry_file_passes_every_import_check(county: County) -> None:
    out, _ = county
    table = read_table(out / "households.csv")
    codes = pl.read_csv(out / "areas.csv", infer_schema=False)["code"].to_list()
    errors = validate(normalise(table.frame), area_codes=codes, today=date(2026, 11, 29))
    assert errors.is_empty(), errors.head(5)
    assert set(table.columns) == set(table.frame.columns) - {"row_number", "_extra_fields"}


def test_jiangmen_uses_its_seven_real_county_codes() -> None:
    world = build_world(SynthConfig(region="440700", households=1500, seed=2, feeds=False))
    counties = {"440703", "440704", "440705", "440781", "440783", "440784", "440785"}
    assert set(world.persons["id_number"].str.slice(0, 6).unique()) == counties
    hh = world.households
    assert (hh["village_code"].str.slice(0, 6) == hh["county_code"]).all()
    assert set(world.areas.areas.filter(pl.col("synthetic"))["code"].str.slice(0, 6).unique()) == counties
    assert world.areas.areas.filter(pl.col("code") == "440781001")["name"].item() == "台城街道"
