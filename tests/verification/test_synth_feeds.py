"""Every feed of a synthetic county through the real ingest: quarantine is exactly the schema-breaking noise.

What each noise kind must do follows from the synth README and sources.yaml:
- invalid_date / invalid_month put an impossible value in the row's dating column: the row is quarantined
  with that column as its field;
- id_missing, id_digit, id_transposition leave no valid ID number: the row is kept, waiting for
  probabilistic linkage, with the number as written in `id_given`;
- id_old_15_digit, id_lowercase_x normalise back to the true 18-digit number: linked by ID like a clean row;
- name_*, stale_address, stale_status are linkage noise: the row is kept with the value as written.
Row numbers agree on both sides: noise.csv's row_number, the number in record_id and RejectedRow.row_number
are all the 1-based data row after the header.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.areas.service import parse_division_file, upsert_areas
from doudi.auth.permissions import system_actor
from doudi.ingest.models import RejectedRow
from doudi.registry.importer import import_households
from doudi.registry.models import Person
from doudi.synth.generate import SynthConfig, generate
from doudi.verification import payload
from doudi.verification.ingest import ingest_file
from doudi.verification.models import FeedRecord
from doudi.verification.sources import load_sources

ACTOR = system_actor("370784", name="test")
SCHEMA_BREAKING = {"invalid_date", "invalid_month"}
ID_UNUSABLE = {"id_missing", "id_digit", "id_transposition"}
ID_NORMALISED = {"id_old_15_digit", "id_lowercase_x"}


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-household county with its feeds, generated once for both backends."""
    out = tmp_path_factory.mktemp("county")
    generate(SynthConfig(households=300, seed=17), out, show_progress=False)
    return out


def _noise(county: Path) -> dict[tuple[str, int], tuple[set[str], str]]:
    """(source, row) → (noise kinds, true ID number)."""
    noise = pl.read_csv(county / "feeds" / "noise.csv", infer_schema=False)
    grouped = noise.group_by("source", "row_number").agg(pl.col("noise_kind"), pl.col("true_id_number").first())
    return {(r["source"], int(r["row_number"])): (set(r["noise_kind"]), r["true_id_number"])
            for r in grouped.iter_rows(named=True)}


def test_every_synthetic_feed_quarantines_exactly_the_broken_rows(db: Session, county: Path) -> None:
    upsert_areas(db, rows=parse_division_file(county / "areas.csv"))
    db.flush()
    assert import_households(db, actor=ACTOR, path=county / "households.csv").rows_rejected == 0
    registry = {p.id_number: p.id for p in db.scalars(select(Person))}
    noise = _noise(county)
    sources = load_sources()
    feeds = sorted(p for p in (county / "feeds").glob("*.csv") if p.stem != "noise")
    assert {p.stem for p in feeds} == set(sources)
    totals = {"broken": 0, "pending": 0, "normalised": 0, "linked": 0}
    for path in feeds:
        key, source = path.stem, sources[path.stem]
        given = pl.read_csv(path, infer_schema=False).with_row_index("row_number", offset=1)
        assert given["record_id"].to_list() == [f"{key}-{n:08d}" for n in range(1, given.height + 1)]
        broken = {n for (s, n), (kinds, _) in noise.items() if s == key and kinds & SCHEMA_BREAKING}

        batch = ingest_file(db, actor=ACTOR, source_key=key, path=path).batch
        rejects = db.scalars(select(RejectedRow).where(RejectedRow.batch_id == batch.id)).all()
        assert {r.row_number for r in rejects} == broken, key
        assert {r.field for r in rejects} <= {source.period}, key
        assert (batch.rows_total, batch.rows_ok, batch.rows_rejected) == (
            given.height, given.height - len(broken), len(broken))

        # Every other row is stored, in feed_records and in the payload, with the values as written.
        records = {r.row_number: r for r in db.scalars(select(FeedRecord).where(FeedRecord.batch_id == batch.id))}
        assert set(records) == set(range(1, given.height + 1)) - broken, key
        kept = given.filter(~pl.col("row_number").is_in(sorted(broken)))
        stored = payload.read(db, batch)
        assert stored["row_number"].to_list() == kept["row_number"].cast(pl.Int64).to_list()
        for col in ("record_id", "name", "address"):
            assert stored[col].to_list() == kept[col].to_list(), (key, col)
        id_given = dict(zip(stored["row_number"].to_list(), stored["id_given"].to_list(), strict=True))

        for row in kept.iter_rows(named=True):
            n = row["row_number"]
            kinds, true_id = noise.get((key, n), (set(), row["id_number"]))
            rec = records[n]
            if kinds & ID_UNUSABLE:
                assert (rec.id_number, rec.match_method, rec.person_id) == (None, "pending", None), (key, n, kinds)
                assert id_given[n] == row["id_number"]  # kept as evidence for linkage (None when missing)
                totals["pending"] += 1
                continue
            assert rec.id_number == true_id and id_given[n] is None, (key, n, kinds)
            person = registry.get(true_id)
            assert (rec.person_id, rec.match_method) == ((person, "id") if person else (None, "none")), (key, n)
            totals["normalised"] += bool(kinds & ID_NORMALISED)
            totals["linked"] += person is not None
        totals["broken"] += len(broken)
    # The county really exercises each path (300 households: ~30 broken rows, ~200 unusable IDs).
    assert min(totals.values()) > 0, totals
