"""Turn linked feed rows into registry facts (source_kind='feed'): a pure mapping over frames plus a loader.

Declared facts are never touched: verified facts are added beside them with their source, batch and
period, so evaluation and the 核对报告 can compare the two.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.core.dates import shift_months
from doudi.ingest.models import BatchStatus, IngestBatch
from doudi.registry.models import AssetFact, ExpenseFact, Household, IncomeFact, Membership
from doudi.registry.vocab import label
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


def load_records(session: Session, *, person_ids: list[int]) -> pl.DataFrame:
    """Feed rows linked to these persons from finished batches: source, batch, row, period, data (a dict).

    The links come from `feed_records`; each row's content from its batch's payload file, read only for
    the row numbers needed.
    """
    if not person_ids:
        return pl.DataFrame(schema=RECORD_SCHEMA)
    stmt = (select(FeedRecord.person_id, FeedRecord.batch_id, FeedRecord.row_number, FeedRecord.period)
            .join(IngestBatch, IngestBatch.id == FeedRecord.batch_id)
            .where(FeedRecord.person_id.in_(person_ids), IngestBatch.status == BatchStatus.DONE)
            .order_by(FeedRecord.batch_id, FeedRecord.row_number))
    links = session.execute(stmt).all()
    batches = {b.id: b for b in session.scalars(select(IngestBatch).where(
        IngestBatch.id.in_({r.batch_id for r in links})))} if links else {}
    links = _in_jurisdiction(session, list(links), batches)
    sources = load_sources()
    content: dict[tuple[int, int], dict[str, Any]] = {}
    for batch_id, batch in batches.items():
        numbers = [r.row_number for r in links if r.batch_id == batch_id]
        rows = payload.read(session, batch, row_numbers=numbers)
        for d in payload.to_dicts(rows, sources[batch.source_key]):
            content[(batch_id, d.pop("row_number"))] = d
    return pl.DataFrame({
        "person_id": [r.person_id for r in links], "source_key": [batches[r.batch_id].source_key for r in links],
        "batch_id": [r.batch_id for r in links], "row_number": [r.row_number for r in links],
        "period": [r.period for r in links], "data": [content.get((r.batch_id, r.row_number), {}) for r in links],
    }, schema=RECORD_SCHEMA)


def _in_jurisdiction(session: Session, links: list[Any], batches: dict[int, IngestBatch]) -> list[Any]:
    """Only the links a batch may make: to people living in the batch's area, or anyone for a national feed.
    Ingest links that way already; this keeps a row linked across a county line by an earlier version out
    of every report and fact."""
    local = {r.person_id for r in links if link_prefix(batches[r.batch_id]) is not None}
    if not local:
        return links
    areas: dict[int, list[str]] = {}
    for pid, area in session.execute(select(Membership.person_id, Household.area_code)
                                     .join(Household, Household.id == Membership.household_id)
                                     .where(Membership.person_id.in_(local), Membership.valid_to.is_(None))):
        areas.setdefault(pid, []).append(area)
    prefixes = {b.id: link_prefix(b) for b in batches.values()}
    return [r for r in links if (p := prefixes[r.batch_id]) is None or any(
        a.startswith(p) for a in areas.get(r.person_id, []))]


def _month_end(d: date) -> date:
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def _latest_per_key(rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    """A holding reported in several batches counts once, as of its latest report."""
    best: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: (r["period"] or date.min, r["batch_id"], r["row_number"])):
        best[(r["person_id"], *(r["data"].get(k) for k in key))] = r
    return list(best.values())


def _once(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A row repeated within or across batches (same record number, or the same content) counts once. Ingest
    records repeats once already; this keeps repeats stored by an earlier version out of every sum."""
    seen: set[tuple[Any, ...]] = set()
    out = []
    for r in sorted(rows, key=lambda r: (r["batch_id"], r["row_number"])):
        data = r["data"]
        keys = [(r["person_id"], "content", json.dumps(data, sort_keys=True, ensure_ascii=False, default=str))]
        if data.get("record_id"):
            keys.append((r["person_id"], "record", data["record_id"]))
        if any(k in seen for k in keys):
            continue
        seen.update(keys)
        out.append(r)
    return out


def feed_facts(records: pl.DataFrame, members: pl.DataFrame, *, as_of: date) -> pl.DataFrame:
    """Map linked feed rows to fact rows (income/asset/expense); `members` maps person_id → household_id."""
    hh = dict(zip(members["person_id"].to_list(), members["household_id"].to_list(), strict=True))
    sources = load_sources()
    out: list[dict[str, Any]] = []
    by_source: dict[str, list[dict[str, Any]]] = {}
    for r in records.iter_rows(named=True):
        if r["person_id"] in hh:
            by_source.setdefault(r["source_key"], []).append(r)
    for key, rows in by_source.items():
        src = sources.get(key)
        if src is None:
            continue
        rows = _once(rows)
        if src.natural_key:
            rows = _latest_per_key(rows, src.natural_key)
        for r in rows:
            fact = _map(key, r["data"], r["period"], as_of)
            if fact is None:
                continue
            fact.update(household_id=hh[r["person_id"]], person_id=r["person_id"], source_key=key,
                        batch_id=r["batch_id"], note=f"{key}#{r['batch_id']}:{r['row_number']}")
            out.append(fact)
    out = _one_per_home(out)
    if key_rows := [f for f in out if f["source_key"] == "provident_fund"]:
        # Only the latest month's balance is a holding; earlier months are history.
        latest: dict[int, dict[str, Any]] = {}
        for f in sorted(key_rows, key=lambda f: f["period_start"]):
            latest[f["person_id"]] = f
        out = [f for f in out if f["source_key"] != "provident_fund"] + list(latest.values())
    return pl.DataFrame(out, schema=FACT_SCHEMA) if out else pl.DataFrame(schema=FACT_SCHEMA)


def _one_per_home(facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A jointly owned home is one real-estate row per owner in the feed, but one holding of the household: keep
    the first owner's fact for each household and certificate (the description carries the certificate number)."""
    seen: set[tuple[int, str]] = set()
    out = []
    for f in facts:
        if f["source_key"] == "real_estate":
            key = (f["household_id"], f["description"])
            if key in seen:
                continue
            seen.add(key)
        out.append(f)
    return out


def _map(key: str, d: dict[str, Any], period: date | None, as_of: date) -> dict[str, Any] | None:
    start = period or as_of
    base: dict[str, Any] = {"quantity": 1, "exempt": False, "description": "", "period_start": start,
                            "period_end": as_of}
    if key == "tax":
        return base | {"table": "income", "kind": d["income_kind"], "amount": d["amount"],
                       "period_end": _month_end(start)}
    if key == "social_insurance":
        kind = INCOME_KIND.get(d["item"])
        return None if kind is None else base | {"table": "income", "kind": kind, "amount": d["amount"],
                                                 "period_end": _month_end(start)}
    if key == "provident_fund":
        return None if d.get("balance") is None else base | {
            "table": "asset", "kind": "provident_fund", "amount": d["balance"], "period_end": _month_end(start)}
    if key == "real_estate":
        kind = "residential_property" if d["property_use"] == "residential" else "non_residential_property"
        desc = f"{d.get('location') or ''} {d.get('floor_area') or ''}㎡ 证号{d['certificate_no']}".strip()
        return base | {"table": "asset", "kind": kind, "amount": 0.0, "description": desc}
    if key == "vehicle":
        return base | {"table": "asset", "kind": "vehicle", "amount": d.get("estimated_value") or 0.0,
                       "exempt": d["vehicle_type"] in EXEMPT_VEHICLES,
                       "description": f"{d['plate_no']} {label(d['vehicle_type'])}"}
    if key == "business":
        if d["status"] != "active":
            return None
        return base | {"table": "asset", "kind": "business_registration", "amount": d.get("registered_capital") or 0.0,
                       "description": f"{d['entity_name']}（{d['credit_code']}）"}
    if key == "bank":
        return base | {"table": "asset", "kind": "financial", "amount": d["balance"],
                       "description": f"{d['institution']} {label(d['product'])}", "period_end": start}
    if key == "medical":
        # The insurer reports every settlement of the year, so its figures cover the whole year before `as_of`
        # (a month without a settlement had none): spread over that year, they replace the declared costs in every
        # month instead of only in the months with a settlement (which counted most costs twice).
        year_start = shift_months(as_of, -12)
        if start < year_start:
            return base | {"table": "expense", "kind": "medical", "amount": d["out_of_pocket"], "period_end": start}
        return base | {"table": "expense", "kind": "medical", "amount": d["out_of_pocket"],
                       "period_start": year_start, "period_end": as_of - timedelta(days=1)}
    if key == "school" and d["status"] == "enrolled" and d.get("tuition_per_year"):
        return base | {"table": "expense", "kind": "education", "amount": d["tuition_per_year"],
                       "period_start": as_of.replace(month=1, day=1), "period_end": as_of.replace(month=12, day=31)}
    return None


def store_facts(session: Session, facts: pl.DataFrame, *, recorded_by: int | None) -> int:
    """Add the fact rows not already stored (same source row); returns how many were added."""
    if facts.height == 0:
        return 0
    households = facts["household_id"].unique().to_list()
    seen: set[str] = set()
    for model in (IncomeFact, AssetFact, ExpenseFact):
        seen |= set(session.scalars(select(model.note).where(model.household_id.in_(households),
                                                             model.source_kind == "feed")))
    added = 0
    for f in facts.filter(~pl.col("note").is_in(list(seen))).iter_rows(named=True):
        common = {"household_id": f["household_id"], "person_id": f["person_id"], "kind": f["kind"],
                  "source_kind": "feed", "source_key": f["source_key"], "batch_id": f["batch_id"],
                  "period_start": f["period_start"], "period_end": f["period_end"], "note": f["note"],
                  "recorded_by": recorded_by}
        amount = Decimal(str(round(float(f["amount"] or 0), 2)))
        if f["table"] == "income":
            session.add(IncomeFact(**common, amount=amount))
        elif f["table"] == "asset":
            session.add(AssetFact(**common, value=amount, quantity=int(f["quantity"]), exempt=bool(f["exempt"]),
                                  description=(f["description"] or "")[:200]))
        else:
            session.add(ExpenseFact(**common, amount=amount))
        added += 1
    session.flush()
    return added
