"""Matching needs to partners as one vectorised batch (one need = a batch of one).

Candidates: an active partner that offers the need's kind and serves an area enclosing the need's. They are
ranked, for each need, by the nearest service area first (a village group before a county charity), then the
partner's past response rate, then the capacity it has left, then its key (so ties are stable). Capacity is
decremented as matches are proposed: needs propose to their candidates in rank order and each partner keeps, of
those proposing, the most urgent (earliest deadline, then lowest id) up to its capacity left, rejecting the
rest, who propose to their next candidate — rounds of deferred acceptance until nothing changes. So a partner
never holds a need while refusing a more urgent one that wanted it."""

from __future__ import annotations

import polars as pl

NEEDS = {"need_id": pl.Int64(), "kind": pl.String(), "area_code": pl.String(), "deadline": pl.Date()}
PARTNERS = {"partner_key": pl.String(), "kind": pl.String(), "area_code": pl.String(), "capacity_left": pl.Int64(),
            "response_rate": pl.Float64()}
PROPOSALS = {"need_id": pl.Int64(), "partner_key": pl.String(), "rank": pl.Int64()}
CANDIDATES = 10  # the nearest candidates each need tries before it is left unmatched (visible in the ledger)
LEVELS = (2, 4, 6, 9, 12)  # GB/T 2260 code lengths: province, city, county, township, village


def _padded(code: pl.Expr, n: int) -> pl.Expr:
    """The area code of the first `n` digits (a province or city code padded with zeros to six digits)."""
    return code.str.slice(0, n).str.pad_end(6, "0") if n < 6 else code.str.slice(0, n)


def candidates(needs: pl.DataFrame, partners: pl.DataFrame, *, depth: int = CANDIDATES,
               exclude: pl.DataFrame | None = None) -> pl.DataFrame:
    """Each need's candidate partners, ranked 1… (nearest area, response rate, capacity left, key); pairs in
    `exclude` (need_id, partner_key: partners a need already had) are left out.

    The ranking depends only on a need's kind and area, so it is computed once per (kind, area) and joined to
    the needs; the excluded pairs are few, so their needs are ranked again on their own."""
    live = partners.filter(pl.col("capacity_left") > 0).rename({"area_code": "area"})
    places = needs.select("kind", "area_code").unique()
    keys = pl.concat([
        places.filter(pl.col("area_code").str.len_chars() >= n).select(
            "kind", "area_code", area=_padded(pl.col("area_code"), n), level=pl.lit(level, pl.Int8))
        for level, n in enumerate(LEVELS)]).unique(["kind", "area_code", "area"])
    order = ["level", "response_rate", "capacity_left", "partner_key"]
    desc = [True, True, True, False]
    ranked = (keys.join(live, on=["kind", "area"], how="inner").sort(["kind", "area_code", *order],
                                                                     descending=[False, False, *desc])
              .with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("kind", "area_code")))
    skip = exclude.select("need_id", "partner_key") if exclude is not None and exclude.height else None
    most = 0 if skip is None else int(skip.group_by("need_id").len().select(pl.col("len").max()).item())
    deep = depth + most  # room for the partners a need skips
    top = ranked.filter(pl.col("rank") <= deep).select("kind", "area_code", "partner_key", "rank")
    found = needs.select("need_id", "kind", "area_code", "deadline").join(top, on=["kind", "area_code"])
    if skip is not None:
        found = found.join(skip, on=["need_id", "partner_key"], how="anti")
        found = found.sort("need_id", "rank").with_columns(
            rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("need_id"))
    return found.filter(pl.col("rank") <= depth).select("need_id", "partner_key", "kind", "deadline", "rank")


def match(needs: pl.DataFrame, partners: pl.DataFrame, *, depth: int = CANDIDATES,
          exclude: pl.DataFrame | None = None) -> pl.DataFrame:
    """One proposal per need that can be met: need_id, partner_key, rank (the candidate's place for that need);
    no partner is given more needs of a kind than its capacity left for that kind."""
    order = needs.sort(["deadline", "need_id"]).select("need_id", urgency=pl.int_range(pl.len(), dtype=pl.Int64))
    cand = candidates(needs, partners, depth=depth, exclude=exclude).join(order, on="need_id")
    capacity = partners.select("partner_key", "kind", "capacity_left")
    held = pl.DataFrame(schema={**PROPOSALS, "kind": pl.String(), "urgency": pl.Int64()})
    pointer = cand.select("need_id").unique().with_columns(next_rank=pl.lit(1, pl.Int64))
    while pointer.height:
        offers = cand.join(pointer, on="need_id").filter(pl.col("rank") == pl.col("next_rank")).drop("next_rank")
        if offers.height == 0:
            break
        pool = pl.concat([held, offers.select(held.columns)], how="vertical")
        pool = pool.join(capacity, on=["partner_key", "kind"]).with_columns(
            place=pl.col("urgency").rank("ordinal").over("partner_key", "kind"))
        held = pool.filter(pl.col("place") <= pl.col("capacity_left")).select(held.columns)
        refused = pool.join(held, on=["need_id", "partner_key"], how="anti").select("need_id", "rank")
        pointer = refused.select("need_id", next_rank=pl.col("rank") + 1)
    return held.select(list(PROPOSALS)).sort("need_id")
