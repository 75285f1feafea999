"""A synthetic county for the monitoring rules, built in bulk with NumPy: members, 低保 enrollments and agency feed
rows per source (shared by the monitoring benchmark and the recall test)."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

ON = date(2026, 11, 16)
AREA = "370784001001"
UNIFORM = ["death", "vehicle", "bank", "tax", "social_insurance", "medical"]
UNIFORM_CODE = {"death": "cremation", "vehicle": "car", "bank": "deposit", "tax": "wage",
                "social_insurance": "contribution", "medical": ""}
# Share of feed rows per source in the weighted mix (monthly records dominate, events are rare).
WEIGHTED = {"tax": 0.30, "social_insurance": 0.28, "medical": 0.20, "bank": 0.12, "vehicle": 0.03,
            "real_estate": 0.02, "business": 0.015, "disability": 0.01, "school": 0.01, "death": 0.01,
            "hukou": 0.005}


def county(people: int, rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame, np.ndarray]:
    """Members (3-person households), 低保 enrollments of 30 % of households, and the recipients' person ids."""
    pid = np.arange(1, people + 1)
    hid = (pid - 1) // 3 + 1
    households = int(hid.max())
    birth = np.datetime64("1940-01-01") + rng.integers(0, 80 * 365, people).astype("timedelta64[D]")
    members = pl.DataFrame({"person_id": pid, "household_id": hid, "area_code": AREA, "relation": "head"}).select(
        "person_id", "household_id", "area_code", "relation", name=pl.format("某{}", "person_id"),
        id_number=_id_number("person_id"), birth_date=pl.Series(birth), hukou_type=pl.lit("rural"))
    enrolled = np.flatnonzero(rng.random(households) < 0.3) + 1
    review = np.datetime64("2026-06-01") + rng.integers(0, 365, enrolled.size).astype("timedelta64[D]")
    enrollments = pl.DataFrame({"enrollment_id": np.arange(1, enrolled.size + 1), "household_id": enrolled,
                                "area_code": AREA, "program": "dibao", "status": "active",
                                "start_month": date(2025, 1, 1), "monthly_amount": 537.0, "next_review_on": review})
    recipient_people = (np.repeat(enrolled, 3) - 1) * 3 + np.tile(np.arange(1, 4), enrolled.size)
    return members, enrollments, recipient_people[recipient_people <= people]


def feed(people: int, rows: int, recipient_people: np.ndarray, rng: np.random.Generator, mix: str,
          first_batch: int, row0: int) -> dict[str, pl.DataFrame]:
    """The feed rows, one frame per source, with provenance (batch, row) and the link to the person."""
    is_recipient = rng.random(rows) < 0.4
    about = np.where(is_recipient, rng.choice(recipient_people, rows), rng.integers(1, people + 1, rows))
    day = np.datetime64("2026-01-01") + rng.integers(0, 300, rows).astype("timedelta64[D]")
    # Text columns are built by Polars from small code tables: NumPy's fixed-width strings would take tens of
    # GiB for the 50M rows.
    if mix == "uniform":
        names = UNIFORM
        source = rng.integers(0, len(names), rows)
        amount = rng.gamma(2.0, 3000.0, rows)
        code = _text([UNIFORM_CODE[s] for s in names], source)
        grade = np.zeros(rows, dtype=np.int64)
    else:
        names = list(WEIGHTED)
        source = rng.choice(len(names), rows, p=np.array(list(WEIGHTED.values())))
        src = {name: source == i for i, name in enumerate(names)}
        low = is_recipient & (rng.random(rows) > 0.02)  # recipients' wages and balances: low, 2 % tail
        amount = np.where(src["tax"], np.where(low, rng.gamma(2.0, 120.0, rows), rng.gamma(2.0, 2500.0, rows)),
                 np.where(src["bank"], np.where(low, rng.gamma(2.0, 1500.0, rows), rng.gamma(2.0, 20000.0, rows)),
                 np.where(src["medical"], rng.gamma(1.2, 900.0, rows),
                 np.where(src["vehicle"], rng.gamma(2.0, 20000.0, rows), rng.gamma(2.0, 500.0, rows)))))
        pick = rng.random(rows)
        c = {k: i for i, k in enumerate(CODES)}
        code = _text(CODES, np.select(
            [src["tax"], src["social_insurance"], src["vehicle"], src["business"], src["death"], src["hukou"],
             src["school"], src["real_estate"]],
            [c["wage"],
             np.where(pick < np.where(is_recipient, 0.1, 0.6), c["contribution"], c["resident_insurance"]),
             np.where(pick < 0.4, c["car"], np.where(pick < 0.5, c["truck"], c["e_bike"])),
             np.where(pick < 0.7, c["active"], c["cancelled"]), c["cremation"],
             np.where(pick < 0.2, c["cancelled"], c["moved"]), np.where(pick < 0.5, c["enrolled"], c["graduated"]),
             c["residential"]], default=c[""]))
        grade = rng.integers(1, 5, rows)
    batch = first_batch + np.arange(rows) // max(1, rows // 50)
    frame = pl.DataFrame({"batch_id": batch, "row_number": row0 + np.arange(rows),
                          "source_key": _text(names, source), "area_code": "370784", "person_id": about}).select(
        "batch_id", "row_number", "source_key", "area_code", "person_id", id_number=_id_number("person_id"),
        name=pl.lit("某"), event_date=pl.Series(day), amount=pl.Series(amount), code=code,
        grade=pl.Series(grade))
    # One batch per source and slice: the batch id carries the source, as in the ingest tables.
    frame = frame.with_columns(batch_id=pl.col("batch_id") * 100 + pl.col("source_key").rank("dense").cast(pl.Int64))
    return {k[0]: v for k, v in frame.partition_by("source_key", as_dict=True).items()}


CODES = ["", "wage", "contribution", "resident_insurance", "car", "truck", "e_bike", "active", "cancelled",
         "cremation", "moved", "enrolled", "graduated", "residential"]


def _text(table: list[str], at: np.ndarray) -> pl.Series:
    """The strings of a small table at these positions."""
    return pl.Series(table, dtype=pl.String).gather(pl.Series(at, dtype=pl.UInt32))


def _id_number(person: str) -> pl.Expr:
    """A synthetic 18-character ID number from the person id (county prefix, zero-padded id)."""
    return pl.format("37078419{}", pl.col(person).cast(pl.String).str.zfill(10))
