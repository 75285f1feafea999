"""Matching as a pure function: ranking by area, response rate and capacity left, and capacity taken in order
of urgency (expected values worked out by hand below)."""

from __future__ import annotations

from datetime import date

import polars as pl

from doudi.charity.rules import NEEDS, PARTNERS, candidates, match

D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)


def _needs(rows: list[tuple[int, str, str, date]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=NEEDS, orient="row")


def _partners(rows: list[tuple[str, str, str, int, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=PARTNERS, orient="row")


PARTNER_ROWS = [
    ("county_a", "cash", "370784", 5, 0.50),  # county-wide, response 1/2
    ("county_b", "cash", "370784", 1, 0.75),  # county-wide, better response, one place left
    ("town", "cash", "370784001", 1, 0.25),  # the township itself: nearest for its villages
    ("other_town", "cash", "370784002", 9, 0.99),  # another township: never a candidate for 001
    ("goods_only", "goods", "370784", 9, 0.99),  # wrong kind
    ("full", "cash", "370784", 0, 0.99),  # no capacity left
]


def test_candidates_rank_nearest_then_response_then_capacity() -> None:
    needs = _needs([(1, "cash", "370784001001", D1)])
    got = candidates(needs, _partners(PARTNER_ROWS))
    # 'town' serves the township (9 digits) → nearest, rank 1 though its rate is lowest;
    # then the county partners: county_b (0.75) before county_a (0.50).
    # other_town (other township), goods_only (kind) and full (capacity 0) are not candidates.
    assert got["partner_key"].to_list() == ["town", "county_b", "county_a"]
    assert got["rank"].to_list() == [1, 2, 3]


def test_equal_rate_prefers_more_capacity_left() -> None:
    needs = _needs([(1, "cash", "370784001001", D1)])
    partners = _partners([("p_small", "cash", "370784", 2, 0.5), ("p_big", "cash", "370784", 7, 0.5)])
    # same area level and rate: capacity left 7 > 2
    assert candidates(needs, partners)["partner_key"].to_list() == ["p_big", "p_small"]


def test_capacity_is_taken_in_order_of_urgency() -> None:
    # Three village needs of the township, deadlines D3, D1, D2 → urgency order 2, 3, 1.
    needs = _needs([(1, "cash", "370784001001", D3), (2, "cash", "370784001001", D1),
                    (3, "cash", "370784001002", D2)])
    got = {r["need_id"]: r["partner_key"] for r in match(needs, _partners(PARTNER_ROWS)).to_dicts()}
    # Round 1: all three ask 'town' (capacity 1): it keeps need 2 (D1), refuses 3 and 1.
    # Round 2: needs 3 and 1 ask county_b (capacity 1): it keeps need 3 (D2), refuses 1.
    # Round 3: need 1 asks county_a (capacity 5): kept.
    assert got == {2: "town", 3: "county_b", 1: "county_a"}


def test_a_more_urgent_need_displaces_a_held_one() -> None:
    d0 = date(2026, 2, 28)
    needs = _needs([(1, "cash", "370784002001", D2), (2, "cash", "370784001001", D1),
                    (3, "cash", "370784001002", d0)])
    partners = _partners([("town", "cash", "370784001", 1, 0.5), ("county_b", "cash", "370784", 1, 0.9),
                          ("county_c", "cash", "370784", 1, 0.1)])
    got = {r["need_id"]: r["partner_key"] for r in match(needs, partners).to_dicts()}
    # Round 1: needs 2 and 3 ask town (nearest); need 3 (d0) is kept, need 2 refused. Need 1 (township 002)
    # asks county_b and is held.  Round 2: need 2 (D1) asks county_b, more urgent than need 1 (D2): county_b
    # keeps need 2 and lets need 1 go.  Round 3: need 1 asks county_c: kept. Each partner: 1 of capacity 1.
    assert got == {3: "town", 2: "county_b", 1: "county_c"}


def test_unmatched_when_every_candidate_is_full() -> None:
    needs = _needs([(1, "cash", "370784001001", D1), (2, "cash", "370784001001", D2)])
    partners = _partners([("only", "cash", "370784", 1, 0.5)])
    got = match(needs, partners)
    # one place: the earlier deadline (need 1) takes it, need 2 stays unmatched (visible in the ledger)
    assert got["need_id"].to_list() == [1]


def test_excluded_pairs_are_not_proposed_again() -> None:
    needs = _needs([(1, "cash", "370784001001", D1)])
    exclude = pl.DataFrame({"need_id": [1], "partner_key": ["town"]})
    got = match(needs, _partners(PARTNER_ROWS), exclude=exclude)
    # town declined before → the next candidate, county_b
    assert got["partner_key"].to_list() == ["county_b"]
