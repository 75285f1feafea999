"""Bulk upsert of validated registry rows: households by household_no, persons by id_number, memberships.

Changes are computed on frames (what exists vs what the file says) and written through the
database-frame layer (db.frames); nothing goes through the ORM one object at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, cast

import polars as pl
from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from doudi.db.frames import read_frame_in, write_frame
from doudi.registry.models import Household, Membership, Person

CHUNK = 5000
HOUSEHOLD_COLS = {"area_code": pl.Utf8, "address": pl.Utf8, "hukou_type": pl.Utf8, "has_capable_supporter": pl.Boolean,
                  "former_registered_poor": pl.Boolean}
PERSON_COLS: dict[str, Any] = {
    "name": pl.Utf8,
    "sex": pl.Utf8,
    "birth_date": pl.Date,
    "phone": pl.Utf8,
    "hukou_area_code": pl.Utf8,
    "hukou_type": pl.Utf8,
    "disability_category": pl.Utf8,
    "disability_grade": pl.Int64,
    "serious_illness": pl.Boolean,
    "self_care_unable_items": pl.Int64,
    "labour_capacity": pl.Utf8,
    "student": pl.Boolean,
    "employment": pl.Utf8,
    "child_status": pl.Utf8,
    "date_of_death": pl.Date,
    "schooling_stage": pl.Utf8,
    "no_civil_capacity": pl.Boolean,
    "extreme_poverty_supported": pl.Boolean,
    "dibao_recipient": pl.Boolean,
    "support_mode": pl.Utf8,
    "supporters_elsewhere_able": pl.Int64,
    "supporters_elsewhere_unable": pl.Int64,
    "supporters_elsewhere_unverified": pl.Int64,
}
# Person columns fed by an optional file column: absent column → existing values stay as they are.
PERSON_SOURCE = {
    "phone": "phone",
    "disability_category": "disability_category",
    "disability_grade": "disability_grade",
    "serious_illness": "serious_illness",
    "self_care_unable_items": "self_care_unable_items",
    "labour_capacity": "labour_capacity",
    "student": "student",
    "employment": "employment",
    "child_status": "child_status",
    "date_of_death": "date_of_death",
    "schooling_stage": "schooling_stage",
    "no_civil_capacity": "no_civil_capacity",
    "extreme_poverty_supported": "extreme_poverty_supported",
    "dibao_recipient": "dibao_recipient",
    "support_mode": "support_mode",
    "supporters_elsewhere_able": "supporters_elsewhere_able",
    "supporters_elsewhere_unable": "supporters_elsewhere_unable",
    "supporters_elsewhere_unverified": "supporters_elsewhere_unverified",
}


def chunked(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """Successive slices of at most `size` items (keeps IN lists and executemany batches bounded)."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def fetch_frame(
    session: Session, columns: list[Any], key: Any, values: list[Any], schema: dict[str, Any], *where: Any
) -> pl.DataFrame:
    """Rows whose key is in `values`, as a frame (chunked IN lists)."""
    return read_frame_in(session, select(*columns).where(*where), key, values, schema=schema)


def _changed(new: pl.DataFrame, old: pl.DataFrame, key: str, cols: list[str]) -> pl.DataFrame:
    """Rows of `new` whose key exists in `old` with at least one differing column (plus old id and version)."""
    joined = new.join(old, on=key, how="inner", suffix="_old", maintain_order="left")
    differs = pl.any_horizontal([~pl.col(c).eq_missing(pl.col(f"{c}_old")) for c in cols]) if cols else pl.lit(False)
    return joined.filter(differs)


def _upsert(session: Session, model: Any, frame: pl.DataFrame, key: str, cols: list[str],
            schema: dict[str, Any]) -> tuple[dict[str, int], int, int]:
    """Insert rows whose key is new and update, with a version bump, rows whose columns differ.

    Returns key → id for every row, and how many were inserted and updated."""
    key_col = getattr(model, key)
    old = fetch_frame(session, [model.id, key_col, model.version, *(getattr(model, c) for c in schema)], key_col,
                      frame[key].to_list(), {"id": pl.Int64, key: pl.Utf8, "version": pl.Int64, **schema})
    ids = dict(zip(old[key].to_list(), old["id"].to_list(), strict=True))
    fresh = frame.join(old.select(key), on=key, how="anti", maintain_order="left")
    if fresh.height:
        added = write_frame(session, model, fresh, returning=[key, "id"]).returned
        ids.update(zip(added[key].to_list(), added["id"].to_list(), strict=True))
    changed = _changed(frame, old, key, cols)
    if changed.height:
        # Optimistic: the version read above is matched, so a row changed by someone else since is not overwritten.
        write_frame(session, model, changed.select("id", "version", *cols), mode="update", match=["id"])
    return ids, fresh.height, changed.height


def _households(session: Session, good: pl.DataFrame, present: set[str]) -> tuple[dict[str, int], dict[str, int]]:
    frame = (
        good.group_by("household_no", maintain_order=True)
        .first()
        .select(
            "household_no",
            "area_code",
            address=pl.col("address").fill_null(""),
            hukou_type=pl.col("hukou_type_key"),
            has_capable_supporter=pl.col("has_capable_supporter_b"),
            former_registered_poor=pl.col("former_registered_poor_b").fill_null(False),
        )
    )
    cols = ["area_code", "hukou_type"] + [c for c in ("address", "has_capable_supporter", "former_registered_poor")
                                          if c in present]
    ids, new, updated = _upsert(session, Household, frame, "household_no", cols, HOUSEHOLD_COLS)
    return ids, {"households_new": new, "households_updated": updated}


def _person_frame(good: pl.DataFrame) -> pl.DataFrame:
    return good.select(
        id_number=pl.col("id_number_n"),
        name=pl.col("name"),
        sex=pl.coalesce("sex_key", "id_sex"),
        birth_date=pl.coalesce("birth_date_d", "id_birth"),
        phone=pl.col("phone"),
        hukou_area_code=pl.col("area_code"),
        hukou_type=pl.col("hukou_type_key"),
        disability_category=pl.col("disability_category_key"),
        disability_grade=pl.col("disability_grade_i"),
        serious_illness=pl.col("serious_illness_b").fill_null(False),
        self_care_unable_items=pl.col("self_care_i").fill_null(0),
        labour_capacity=pl.col("labour_capacity_key").fill_null("full"),
        student=pl.col("student_b").fill_null(False),
        employment=pl.col("employment_key").fill_null("not_applicable"),
        child_status=pl.col("child_status_key"),
        date_of_death=pl.col("date_of_death_d"),
        schooling_stage=pl.col("schooling_stage_key"),
        no_civil_capacity=pl.col("no_civil_capacity_b").fill_null(False),
        extreme_poverty_supported=pl.col("extreme_poverty_supported_b").fill_null(False),
        dibao_recipient=pl.col("dibao_recipient_b").fill_null(False),
        support_mode=pl.col("support_mode_key"),
        supporters_elsewhere_able=pl.col("supporters_elsewhere_able_i"),
        supporters_elsewhere_unable=pl.col("supporters_elsewhere_unable_i"),
        supporters_elsewhere_unverified=pl.col("supporters_elsewhere_unverified_i"),
    )


def _persons(session: Session, good: pl.DataFrame, present: set[str]) -> tuple[dict[str, int], dict[str, int]]:
    frame = _person_frame(good)
    cols = [c for c in PERSON_COLS if c not in PERSON_SOURCE or PERSON_SOURCE[c] in present]
    ids, new, updated = _upsert(session, Person, frame, "id_number", cols, PERSON_COLS)
    return ids, {"persons_new": new, "persons_updated": updated}


def _memberships(
    session: Session, good: pl.DataFrame, hh_ids: dict[str, int], person_ids: dict[str, int], today: date
) -> dict[str, int]:
    want = good.select(
        household_id=pl.col("household_no").replace_strict(hh_ids, return_dtype=pl.Int64),
        person_id=pl.col("id_number_n").replace_strict(person_ids, return_dtype=pl.Int64),
        relation=pl.col("relation_key"),
        exclusion=pl.col("member_exclusion_key"),
        lives_with_household=pl.col("lives_with_household_b").fill_null(True),
        since=pl.col("member_since_d"),
        born=pl.coalesce("birth_date_d", "id_birth"),
    )
    schema = {
        "id": pl.Int64,
        "household_id": pl.Int64,
        "person_id": pl.Int64,
        "relation": pl.Utf8,
        "exclusion": pl.Utf8,
        "lives_with_household": pl.Boolean,
    }
    cols = [
        Membership.id,
        Membership.household_id,
        Membership.person_id,
        Membership.relation,
        Membership.exclusion,
        Membership.lives_with_household,
    ]
    still_valid = Membership.valid_to.is_(None)
    current = pl.concat(
        [
            fetch_frame(session, cols, Membership.person_id, want["person_id"].to_list(), schema, still_valid),
            fetch_frame(
                session,
                cols,
                Membership.household_id,
                want["household_id"].unique().sort().to_list(),
                schema,
                still_valid,
            ),
        ]
    ).unique("id", maintain_order=True)
    same = want.drop("since", "born").join(current, on=["household_id", "person_id"], how="inner", suffix="_old",
                                           maintain_order="left")
    keep = same.filter(
        pl.col("relation").eq_missing(pl.col("relation_old"))
        & pl.col("exclusion").eq_missing(pl.col("exclusion_old"))
        & pl.col("lives_with_household").eq_missing(pl.col("lives_with_household_old"))
    )
    close = current.filter(~pl.col("id").is_in(keep["id"].implode()))["id"].to_list()
    add = want.join(
        keep.select("household_id", "person_id"), on=["household_id", "person_id"], how="anti", maintain_order="left"
    )
    tbl = cast(Table, Membership.__table__)
    for chunk in chunked(close):
        session.execute(update(tbl).where(tbl.c.id.in_(chunk)).values(valid_to=today))
    # The ledger's date where it gives one; a move within the registry happens today; otherwise the member
    # belonged "since before the import, date unknown": from birth, flagged, so earlier dates can be assessed.
    moved = current.filter(pl.col("id").is_in(close))["person_id"].implode()
    add = add.with_columns(
        valid_from=pl.when(pl.col("since").is_not_null()).then(pl.col("since"))
        .when(pl.col("person_id").is_in(moved)).then(pl.lit(today)).otherwise(pl.col("born")),
        valid_from_known=pl.col("since").is_not_null() | pl.col("person_id").is_in(moved),
    ).drop("since", "born")
    write_frame(session, Membership, add)
    return {"memberships_new": add.height, "memberships_closed": len(close)}


def write_rows(session: Session, good: pl.DataFrame, *, present: set[str], today: date) -> dict[str, int]:
    """Upsert households, persons and memberships from validated rows; returns change counts."""
    if good.is_empty():
        return {
            "households_new": 0,
            "households_updated": 0,
            "persons_new": 0,
            "persons_updated": 0,
            "memberships_new": 0,
            "memberships_closed": 0,
        }
    hh_ids, hh_counts = _households(session, good, present)
    person_ids, p_counts = _persons(session, good, present)
    m_counts = _memberships(session, good, hh_ids, person_ids, today)
    session.flush()
    return {**hh_counts, **p_counts, **m_counts}
