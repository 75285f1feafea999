"""Planted monitoring events with ground truth: into a synthetic county's registry, enrollments and feeds (frames
in the shape the warning rules read), `plant` adds, for chosen recipient households, one situation per
deterministic rule — a death, a car, a house, a business, a bank balance above the limit, a member turning 60,
an overdue review, a person enrolled in two households, the same person again with a blank ID — plus namesake
decoys (same name and birth date, two valid IDs) that must NOT be flagged. The truth (`events`: kind, person,
household, date, expected rule and subject) is what `truth/events.csv` holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

# kind → the rule that must find it (recall 1.0 expected: these rules are deterministic).
DETERMINISTIC = {"death": "death", "vehicle": "vehicle", "real_estate": "real_estate", "business": "business",
                 "bank_balance": "bank_balance", "turns_60": "age_transition", "review_overdue": "review_overdue",
                 "duplicate_id": "duplicate", "duplicate_blank_id": "duplicate"}


@dataclass
class Planted:
    """The county with the events planted, and the truth."""

    members: pl.DataFrame
    enrollments: pl.DataFrame
    sources: dict[str, pl.DataFrame]
    events: pl.DataFrame  # kind, person_id, household_id, event_date, rule, subject_key, decoy


def _row(source: str, batch: int, row: int, pid: int, on: date, amount: float, code: str) -> dict[str, object]:
    return {"batch_id": batch, "row_number": row, "source_key": source, "area_code": "370784", "person_id": pid,
            "id_number": None, "name": None, "event_date": on, "amount": amount, "code": code, "grade": None}


def plant(members: pl.DataFrame, enrollments: pl.DataFrame, sources: dict[str, pl.DataFrame], *, on: date,
          per_kind: int, seed: int = 7, batch: int = 900_000) -> Planted:
    """Plant `per_kind` events of each kind in distinct recipient households (and as many namesake decoys)."""
    rng = np.random.default_rng(seed)
    enrolled = enrollments.filter(pl.col("status") == "active")["household_id"].unique().sort().to_numpy()
    kinds = list(DETERMINISTIC)
    chosen = rng.choice(enrolled, size=per_kind * (len(kinds) + 1) * 2, replace=False)
    heads = members.filter(pl.col("person_id") == pl.col("person_id").min().over("household_id"))
    head_of = dict(zip(heads["household_id"].to_list(), heads["person_id"].to_list(), strict=True))
    feed: list[dict[str, object]] = []
    truth: list[dict[str, object]] = []
    extra_members: list[dict[str, object]] = []
    review: dict[int, date] = {}
    next_pid = int(members["person_id"].max()) + 1  # type: ignore[arg-type]
    day = on - timedelta(days=20)
    it = iter(chosen.tolist())

    def event(kind: str, pid: int, hid: int, when: date, subject: str, decoy: bool = False) -> None:
        truth.append({"kind": kind, "person_id": pid, "household_id": hid, "event_date": when,
                      "rule": DETERMINISTIC.get(kind, "duplicate"), "subject_key": subject, "decoy": decoy})

    for _ in range(per_kind):
        for kind in kinds:
            hid = int(next(it))
            pid = head_of[hid]
            n = len(feed) + 1
            if kind == "death":
                feed.append(_row("death", batch, n, pid, day, 0.0, "cremation"))
                event(kind, pid, hid, day, f"p{pid}")
            elif kind == "vehicle":
                feed.append(_row("vehicle", batch, n, pid, day, 80_000.0, "car"))
                event(kind, pid, hid, day, f"h{hid}")
            elif kind == "real_estate":
                feed.append(_row("real_estate", batch, n, pid, day, 90.0, "residential"))
                event(kind, pid, hid, day, f"h{hid}")
            elif kind == "business":
                feed.append(_row("business", batch, n, pid, day, 50_000.0, "active"))
                event(kind, pid, hid, day, f"h{hid}")
            elif kind == "bank_balance":
                # Far above any limit: 24 months × 719 (urban standard) × a household of up to 10 = 172 560.
                feed.append(_row("bank", batch, n, pid, day, 5_000_000.0, "deposit"))
                event(kind, pid, hid, day, f"h{hid}")
            elif kind == "turns_60":
                born = day.replace(year=day.year - 60)
                extra_members.append({"person_id": next_pid, "household_id": hid, "name": f"花甲{next_pid}",
                                      "id_number": f"37078419{next_pid:010d}", "birth_date": born})
                event(kind, next_pid, hid, day, f"p{next_pid}")
                next_pid += 1
            elif kind == "review_overdue":
                review[hid] = on - timedelta(days=30)
                event(kind, pid, hid, review[hid], f"h{hid}")
            elif kind == "duplicate_id":
                # The same registry person also listed in a second enrolled household.
                other = int(next(it))
                extra_members.append({"person_id": pid, "household_id": other, "name": None, "id_number": None,
                                      "birth_date": None})
                event(kind, pid, hid, on, f"p{pid}")
            else:  # duplicate_blank_id: a second registry person, same name and birth, no ID, in another household
                other = int(next(it))
                extra_members.append({"person_id": next_pid, "household_id": other, "name": None, "id_number": "",
                                      "birth_date": None, "copy_of": pid})
                event(kind, next_pid, other, on, f"p{next_pid}")
                event(kind, pid, hid, on, f"p{pid}")
                next_pid += 1
        # A namesake decoy: same name and birth date as a head, a different valid ID, in another household.
        hid, other = int(next(it)), int(next(it))
        pid = head_of[hid]
        extra_members.append({"person_id": next_pid, "household_id": other, "name": None,
                              "id_number": f"37078419{next_pid:010d}", "birth_date": None, "copy_of": pid})
        event("namesake", next_pid, other, on, f"p{next_pid}", decoy=True)
        next_pid += 1
    members = _with_members(members, extra_members)
    if review:
        dates = pl.DataFrame({"household_id": list(review), "overdue": list(review.values())},
                             schema={"household_id": enrollments.schema["household_id"], "overdue": pl.Date()})
        enrollments = enrollments.join(dates, on="household_id", how="left").with_columns(
            next_review_on=pl.coalesce("overdue", "next_review_on")).drop("overdue")
    out = dict(sources)
    planted = pl.DataFrame(feed).cast({"batch_id": pl.Int64, "row_number": pl.Int64, "person_id": pl.Int64,
                                       "grade": pl.Int64, "id_number": pl.String, "name": pl.String})
    for source, part in planted.partition_by("source_key", as_dict=True).items():
        key = str(source[0])
        out[key] = pl.concat([out[key], part], how="diagonal_relaxed") if key in out else part
    return Planted(members, enrollments, out, pl.DataFrame(truth))


def _with_members(members: pl.DataFrame, extra: list[dict[str, object]]) -> pl.DataFrame:
    """Add the planted members; a copy takes the name and birth date of the person it copies."""
    if not extra:
        return members
    add = pl.DataFrame(extra, schema_overrides={"copy_of": pl.Int64} if any("copy_of" in e for e in extra) else None)
    if "copy_of" not in add.columns:
        add = add.with_columns(copy_of=pl.lit(None, pl.Int64))
    source = members.select(pl.col("person_id").alias("src"), src_name="name", src_id="id_number",
                            src_birth="birth_date", src_hh="household_id").unique("src")
    add = (add.with_columns(src=pl.coalesce("copy_of", pl.when(pl.col("name").is_null()).then("person_id")))
           .join(source, on="src", how="left")
           .with_columns(name=pl.coalesce("name", "src_name"), birth_date=pl.coalesce("birth_date", "src_birth"),
                         id_number=pl.when(pl.col("copy_of").is_null() & pl.col("id_number").is_null())
                         .then("src_id").otherwise("id_number")))
    area = members.select("household_id", "area_code", "hukou_type").unique("household_id")
    add = add.drop("area_code", "hukou_type", strict=False).join(area, on="household_id", how="left")
    add = add.with_columns(relation=pl.lit("other")).select([c for c in members.columns if c in add.columns])
    return pl.concat([members, add], how="diagonal_relaxed")
