"""Turn linked feed rows into registry facts (source_kind='feed'): a pure mapping over frames plus a loader.

Declared facts are never touched: verified facts are added beside them with their source, batch and
period, so evaluation and the 核对报告 can compare the two.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.db.frames import read_frame_in, write_frame
from doudi.ingest.models import BatchStatus, IngestBatch
from doudi.registry.fact_store import settle_income
from doudi.registry.models import AssetFact, ExpenseFact, Household, IncomeFact, Membership
from doudi.registry.vocab import LABELS
from doudi.verification import payload
from doudi.verification.models import FeedRecord
from doudi.verification.reach import link_prefix
from doudi.verification.sources import load_sources

INCOME_KIND = {"retirement_pension": "transfer", "unemployment_benefit": "transfer", "basic_pension": "basic_pension"}
EXEMPT_VEHICLES = {"motorcycle", "e_bike", "disabled_mobility"}  # 审核确认办法 Art. 14 local rules (Guangdong)
FACT_SCHEMA = {"table": pl.Utf8, "household_id": pl.Int64, "person_id": pl.Int64, "source_key": pl.Utf8,
               "batch_id": pl.Int64, "kind": pl.Utf8, "amount": pl.Float64, "quantity": pl.Int64, "exempt": pl.Boolean,
               "description": pl.Utf8, "period_start": pl.Date, "period_end": pl.Date, "note": pl.Utf8}


RECORD_SCHEMA = {"person_id": pl.Int64, "source_key": pl.Utf8, "batch_id": pl.Int64, "row_number": pl.Int64,
                 "period": pl.Date, "data": pl.Object}
LINK_SCHEMA = {"person_id": pl.Int64, "batch_id": pl.Int64, "row_number": pl.Int64, "period": pl.Date}
LINK_COLUMNS = ["person_id", "source_key", "batch_id", "row_number", "period"]
Feed = dict[str, pl.DataFrame]  # source key → linked rows: LINK_COLUMNS then the source's typed payload columns


def load_feed(session: Session, *, person_ids: list[int]) -> Feed:
    """Feed rows linked to these persons from finished batches, one typed frame per source: the link (person,
    source, batch, row, period) beside the row's payload columns (no Python objects: every column typed).

    The links come from `feed_records` (read in chunks through db.frames); each row's content from its
    batch's payload file, read only for the row numbers needed.
    """
    if not person_ids:
        return {}
    stmt = (select(FeedRecord.person_id, FeedRecord.batch_id, FeedRecord.row_number, FeedRecord.period)
            .join(IngestBatch, IngestBatch.id == FeedRecord.batch_id)
            .where(IngestBatch.status == BatchStatus.DONE))
    links = read_frame_in(session, stmt, FeedRecord.person_id, sorted(set(person_ids)), schema=LINK_SCHEMA)
    if links.is_empty():
        return {}
    batches = {b.id: b for b in session.scalars(select(IngestBatch).where(
        IngestBatch.id.in_(links["batch_id"].unique().to_list())))}
    links = _in_jurisdiction(session, links, batches)
    sources = load_sources()
    parts: dict[str, list[pl.DataFrame]] = {}
    for batch_id in sorted(batches):
        batch = batches[batch_id]
        mine = links.filter(pl.col("batch_id") == batch_id)
        if mine.is_empty() or batch.source_key not in sources:
            continue
        rows = payload.read(session, batch, row_numbers=mine["row_number"].unique().sort().to_list())
        parts.setdefault(batch.source_key, []).append(
            mine.with_columns(source_key=pl.lit(batch.source_key)).select(LINK_COLUMNS)
            .join(rows, on="row_number", how="left", maintain_order="left"))
    return {key: pl.concat(frames, how="vertical_relaxed").sort("batch_id", "row_number")
            for key, frames in parts.items()}


def load_records(session: Session, *, person_ids: list[int]) -> pl.DataFrame:
    """The rows of `load_feed` with each row's content as a dict in `data` (for code and tests that read one
    household's rows one by one; batch work uses `load_feed`)."""
    feed = load_feed(session, person_ids=person_ids)
    frames = []
    for key, frame in feed.items():
        data = payload.to_dicts(frame.drop(LINK_COLUMNS), load_sources()[key])
        frames.append(frame.select(LINK_COLUMNS).with_columns(pl.Series("data", data, dtype=pl.Object)))
    if not frames:
        return pl.DataFrame(schema=RECORD_SCHEMA)
    return pl.concat(frames).sort("batch_id", "row_number")


def _in_jurisdiction(session: Session, links: pl.DataFrame, batches: dict[int, IngestBatch]) -> pl.DataFrame:
    """Only the links a batch may make: to people living in the batch's area, or anyone for a national feed.
    Ingest links that way already; this keeps a row linked across a county line by an earlier version out
    of every report and fact."""
    prefixes = pl.DataFrame({"batch_id": list(batches), "prefix": [link_prefix(b) for b in batches.values()]},
                            schema={"batch_id": pl.Int64, "prefix": pl.Utf8})
    links = links.join(prefixes, on="batch_id", how="left", maintain_order="left")
    local = links.filter(pl.col("prefix").is_not_null())["person_id"].unique().to_list()
    if not local:
        return links.drop("prefix")
    stmt = (select(Membership.person_id, Household.area_code).join(Household, Household.id == Membership.household_id)
            .where(Membership.valid_to.is_(None)))
    areas = read_frame_in(session, stmt, Membership.person_id, local,
                          schema={"person_id": pl.Int64, "area_code": pl.Utf8})
    reached = (links.filter(pl.col("prefix").is_not_null()).join(areas, on="person_id")
               .filter(pl.col("area_code").str.starts_with(pl.col("prefix")))
               .select("batch_id", "row_number", "person_id").unique())
    return pl.concat([links.filter(pl.col("prefix").is_null()).drop("prefix"),
                      links.join(reached, on=["batch_id", "row_number", "person_id"], how="semi").drop("prefix")]
                     ).sort("batch_id", "row_number")


def _once(frame: pl.DataFrame) -> pl.DataFrame:
    """A row repeated within or across batches (same record number, or the same content) counts once. Ingest
    records repeats once already; this keeps repeats stored by an earlier version out of every sum."""
    content = [c for c in frame.columns if c not in LINK_COLUMNS]
    first_content = pl.struct("person_id", *content).is_first_distinct()
    first_record = (pl.col("record_id").is_null() | pl.struct("person_id", "record_id").is_first_distinct()
                    if "record_id" in frame.columns else pl.lit(True))
    return frame.sort("batch_id", "row_number").filter(first_content & first_record)


def _latest_per_key(frame: pl.DataFrame, key: tuple[str, ...]) -> pl.DataFrame:
    """A holding reported in several batches counts once, as of its latest report."""
    return (frame.sort(pl.col("period").fill_null(date.min), "batch_id", "row_number")
            .unique(["person_id", *key], keep="last", maintain_order=True))


def feed_facts(feed: Feed, members: pl.DataFrame, *, as_of: date | None = None) -> pl.DataFrame:
    """Map linked feed rows to fact rows (income/asset/expense), all in Polars.

    `members` maps person_id → household_id, with the date the facts are taken as of in `as_of` (the
    request date of the household's request), or one `as_of` for everyone."""
    if as_of is not None:
        members = members.with_columns(as_of=pl.lit(as_of, pl.Date))
    members = members.select("person_id", "household_id", "as_of").unique("person_id", keep="first")
    sources = load_sources()
    out: list[pl.DataFrame] = []
    for key, frame in feed.items():
        src = sources.get(key)
        if src is None or frame.is_empty():
            continue
        rows = _once(frame.join(members.select("person_id"), on="person_id", how="semi"))
        if src.natural_key:
            rows = _latest_per_key(rows, tuple(src.natural_key))
        mapped = _map(key, rows.join(members, on="person_id", how="inner", maintain_order="left"))
        if mapped is not None and mapped.height:
            out.append(mapped.with_columns(source_key=pl.lit(key),
                                           note=pl.format("{}#{}:{}", pl.lit(key), "batch_id", "row_number"))
                       .select(list(FACT_SCHEMA)).cast(FACT_SCHEMA))  # type: ignore[arg-type]
    if not out:
        return pl.DataFrame(schema=FACT_SCHEMA)
    facts = _one_per_home(pl.concat(out))
    # Only the latest month's provident-fund balance is a holding; earlier months are history.
    fund = pl.col("source_key") == "provident_fund"
    latest = (facts.filter(fund).sort("period_start", maintain_order=True)
              .unique("person_id", keep="last", maintain_order=True))
    return pl.concat([facts.filter(~fund), latest])


def _one_per_home(facts: pl.DataFrame) -> pl.DataFrame:
    """A jointly owned home is one real-estate row per owner in the feed, but one holding of the household: keep
    the first owner's fact for each household and certificate (the description carries the certificate number)."""
    home = pl.col("source_key") == "real_estate"
    first = pl.struct("household_id", "description").is_first_distinct()
    return facts.filter(~home | first.over(home))


def _label(col: str) -> pl.Expr:
    """A vocabulary value in Chinese (the value itself when unknown), as `registry.vocab.label`."""
    return pl.col(col).replace(LABELS).cast(pl.Utf8).fill_null("")


def _text(col: str) -> pl.Expr:
    """A payload value as text for a description: '' when absent (as `value or ''`)."""
    return pl.col(col).cast(pl.Utf8).fill_null("")


def _map(key: str, frame: pl.DataFrame) -> pl.DataFrame | None:
    """The fact rows one source's linked rows give (None: the source gives no facts)."""
    start = pl.coalesce(pl.col("period"), pl.col("as_of"))
    base = {"quantity": pl.lit(1, pl.Int64), "exempt": pl.lit(False), "description": pl.lit(""),
            "period_start": start, "period_end": pl.col("as_of")}

    def fact(table: str, kind: pl.Expr, amount: pl.Expr, **over: pl.Expr) -> list[pl.Expr]:
        cols = {**base, **over}
        return [pl.lit(table).alias("table"), kind.alias("kind"), amount.cast(pl.Float64).alias("amount"),
                *(e.alias(n) for n, e in cols.items())]

    keep = ["household_id", "person_id", "batch_id", "row_number"]
    month_end = start.dt.month_end()
    if key == "tax":
        return frame.select(*keep, *fact("income", pl.col("income_kind"), pl.col("amount"), period_end=month_end))
    if key == "social_insurance":
        kind = pl.col("item").replace_strict(INCOME_KIND, default=None, return_dtype=pl.Utf8)
        return frame.filter(kind.is_not_null()).select(*keep, *fact("income", kind, pl.col("amount"),
                                                                    period_end=month_end))
    if key == "provident_fund":
        return frame.filter(pl.col("balance").is_not_null()).select(
            *keep, *fact("asset", pl.lit("provident_fund"), pl.col("balance"), period_end=month_end))
    if key == "real_estate":
        kind = (pl.when(pl.col("property_use") == "residential").then(pl.lit("residential_property"))
                .otherwise(pl.lit("non_residential_property")))
        desc = pl.format("{} {}㎡ 证号{}", _text("location"), _text("floor_area"), pl.col("certificate_no"))
        return frame.select(*keep, *fact("asset", kind, pl.lit(0.0), description=desc.str.strip_chars()))
    if key == "vehicle":
        return frame.select(*keep, *fact("asset", pl.lit("vehicle"), pl.col("estimated_value").fill_null(0.0),
                                         exempt=pl.col("vehicle_type").is_in(sorted(EXEMPT_VEHICLES)),
                                         description=pl.format("{} {}", "plate_no", _label("vehicle_type"))))
    if key == "business":
        return frame.filter(pl.col("status") == "active").select(
            *keep, *fact("asset", pl.lit("business_registration"), pl.col("registered_capital").fill_null(0.0),
                         description=pl.format("{}（{}）", "entity_name", "credit_code")))
    if key == "bank":
        return frame.select(*keep, *fact("asset", pl.lit("financial"), pl.col("balance"), period_end=start,
                                         description=pl.format("{} {}", "institution", _label("product"))))
    if key == "medical":
        # The insurer reports every settlement of the year, so its figures cover the whole year before `as_of`
        # (a month without a settlement had none): spread over that year, they replace the declared costs in every
        # month instead of only in the months with a settlement (which counted most costs twice).
        year_start = pl.col("as_of").dt.offset_by("-12mo")
        older = start < year_start
        return frame.select(*keep, *fact("expense", pl.lit("medical"), pl.col("out_of_pocket"),
                                         period_start=pl.when(older).then(start).otherwise(year_start),
                                         period_end=pl.when(older).then(start)
                                         .otherwise(pl.col("as_of").dt.offset_by("-1d"))))
    if key == "school":
        year = pl.col("as_of").dt.year()
        return frame.filter((pl.col("status") == "enrolled") & pl.col("tuition_per_year").is_not_null()
                            & (pl.col("tuition_per_year") != 0)).select(
            *keep, *fact("expense", pl.lit("education"), pl.col("tuition_per_year"),
                         period_start=pl.date(year, 1, 1), period_end=pl.date(year, 12, 31)))
    return None


FACT_TABLES: dict[str, Any] = {"income": IncomeFact, "asset": AssetFact, "expense": ExpenseFact}


def store_facts(session: Session, facts: pl.DataFrame, *, recorded_by: int | None) -> pl.DataFrame:
    """Add the fact rows not already stored (same source row, named by `note`), bulk-written through
    db.frames, then settle each member's income month by month (`registry.fact_store.settle_income`); returns the
    rows added."""
    if facts.height == 0:
        return facts
    households = facts["household_id"].unique().sort().to_list()
    seen = pl.concat([read_frame_in(session, select(model.note).where(model.source_kind == "feed"),
                                    model.household_id, households, schema={"note": pl.Utf8})
                      for model in FACT_TABLES.values()])
    fresh = facts.unique("note", keep="first", maintain_order=True).join(seen, on="note", how="anti")
    common = [pl.col("household_id"), pl.col("person_id"), pl.col("kind"), pl.lit("feed").alias("source_kind"),
              pl.col("source_key"), pl.col("batch_id"), pl.col("period_start"), pl.col("period_end"),
              pl.col("note"), pl.lit(recorded_by, pl.Int64).alias("recorded_by"),
              # The feed row's own key: the current-fact unique index refuses the same row twice.
              pl.concat_str(pl.lit("feed|"), pl.col("note")).alias("fact_key")]
    amount = pl.col("amount").fill_null(0.0).round(2)
    for table, model in FACT_TABLES.items():
        part = fresh.filter(pl.col("table") == table)
        if part.is_empty():
            continue
        if table == "asset":
            rows = part.select(*common, amount.alias("value"), pl.col("quantity"), pl.col("exempt"),
                               pl.col("description").fill_null("").str.slice(0, 200))
        else:
            rows = part.select(*common, amount.alias("amount"))
        write_frame(session, model, rows)
    income = fresh.filter((pl.col("table") == "income") & pl.col("person_id").is_not_null())
    settle_income(session, income.select("household_id", "person_id", "kind",
                                         month=pl.col("period_start").dt.month_start()))
    return fresh


MOVES_SCHEMA = {"household_id": pl.Int64, "person_id": pl.Int64, "on": pl.Date, "source": pl.Utf8}


def moves_out(feed: Feed, members: pl.DataFrame, *, as_of: date | None = None) -> pl.DataFrame:
    """Current members the 户籍 feed reports as moved out (迁出) on or before the date facts are taken as of (each
    member's `as_of`, or one `as_of`): household_id, person_id, the date (its 更新日期) and the feed row."""
    rows = feed.get("hukou")
    if rows is None or rows.is_empty():
        return pl.DataFrame(schema=MOVES_SCHEMA)
    if as_of is not None:
        members = members.with_columns(as_of=pl.lit(as_of, pl.Date))
    moved = (rows.filter(pl.col("status") == "moved_out")
             .with_columns(on=pl.coalesce("updated_on", "period"))
             .join(members.select("person_id", "household_id", "as_of").unique("person_id", keep="first"),
                   on="person_id")
             .filter(pl.col("on").is_not_null() & (pl.col("on") <= pl.col("as_of"))))
    return (moved.sort("on", "batch_id", "row_number").unique(["household_id", "person_id"], keep="first",
                                                              maintain_order=True)
            .select("household_id", "person_id", "on", source=pl.format("hukou#{}:{}", "batch_id", "row_number"))
            .cast(MOVES_SCHEMA))  # type: ignore[arg-type]
