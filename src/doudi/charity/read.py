"""What matching reads as frames (open needs, partners with capacity left and response rate) and the households'
contacts a need shows — a few queries, never row by row."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from doudi.auth.scope import under
from doudi.charity.models import Match, MatchStatus, Need, NeedStatus, Offer, Partner
from doudi.charity.rules import NEEDS, PARTNERS
from doudi.db.frames import read_frame, read_frame_in
from doudi.registry.models import Household, Membership, Person

MATCHABLE = (NeedStatus.OPEN, NeedStatus.DECLINED, NeedStatus.ESCALATED)  # waiting for a partner
LIVE = (MatchStatus.PROPOSED, MatchStatus.CONFIRMED, MatchStatus.ACCEPTED)  # holding a partner's capacity
KINDS = [str(k) for k in Offer]
ANSWERED = (MatchStatus.ACCEPTED, MatchStatus.DELIVERED, MatchStatus.DECLINED, MatchStatus.EXPIRED)
TOOK = (MatchStatus.ACCEPTED, MatchStatus.DELIVERED)


def open_needs(session: Session, *, area: str, need_ids: Sequence[int] | None = None) -> pl.DataFrame:
    """Needs waiting for a partner in the area ('' = all), or only those of `need_ids`, with their versions."""
    stmt = under(select(Need.id, Need.kind, Need.area_code, Need.deadline, Need.version).where(
        Need.status.in_([str(s) for s in MATCHABLE])), Need.area_code, area)
    schema = {**NEEDS, "version": pl.Int64()}
    if need_ids is not None:
        return read_frame_in(session, stmt, Need.__table__.c.id, list(need_ids), schema=schema)
    return read_frame(session, stmt, schema=schema)


def tried(session: Session, *, area: str, need_ids: Sequence[int] | None = None) -> pl.DataFrame:
    """Partners the waiting needs already had (declined, withdrawn, expired …): not proposed again."""
    stmt = under(select(Match.need_id, Match.partner_key).join(Need, Need.id == Match.need_id).where(
        Need.status.in_([str(s) for s in MATCHABLE])), Need.area_code, area)
    schema = {"need_id": pl.Int64(), "partner_key": pl.String()}
    if need_ids is not None:
        return read_frame_in(session, stmt, Need.__table__.c.id, list(need_ids), schema=schema)
    return read_frame(session, stmt, schema=schema)


def partner_frame(session: Session) -> pl.DataFrame:
    """Active partners, one row per offer: capacity left (capacity − live matches) and response rate.

    The response rate is (accepted + 1) / (answered + 2): the share of sent needs a partner took, counted from
    its answers, starting at one half for a partner without any (so one answer does not decide its rank)."""
    partners = read_frame(session, select(Partner.key, Partner.area_code, Partner.offers, Partner.capacity)
                          .where(Partner.active.is_(True)),
                          schema={"partner_key": pl.String(), "area_code": pl.String(), "offers": pl.String(),
                                  "capacity": pl.String()})
    if partners.height == 0:
        return pl.DataFrame(schema=PARTNERS)
    offers = partners.select(
        "partner_key", "area_code",
        kind=pl.col("offers").str.json_decode(pl.List(pl.String())),
        capacity=pl.col("capacity").str.json_decode(pl.Struct({k: pl.Int64() for k in KINDS})),
    ).explode("kind").drop_nulls("kind")
    offers = offers.with_columns(total=pl.coalesce(*(
        pl.when(pl.col("kind") == k).then(pl.col("capacity").struct.field(k)) for k in KINDS), pl.lit(0)))
    live = read_frame(session, select(Match.partner_key, Match.kind, func.count()).where(
        Match.status.in_([str(s) for s in LIVE])).group_by(Match.partner_key, Match.kind),
        schema={"partner_key": pl.String(), "kind": pl.String(), "live": pl.Int64()})
    answered = read_frame(session, select(
        Match.partner_key, func.count(), func.sum(case((Match.status.in_([str(s) for s in TOOK]), 1), else_=0)))
        .where(Match.status.in_([str(s) for s in ANSWERED])).group_by(Match.partner_key),
        schema={"partner_key": pl.String(), "answered": pl.Int64(), "took": pl.Int64()})
    out = (offers.join(live, on=["partner_key", "kind"], how="left").join(answered, on="partner_key", how="left")
           .with_columns(capacity_left=(pl.col("total") - pl.col("live").fill_null(0)).clip(lower_bound=0),
                         response_rate=(pl.col("took").fill_null(0) + 1) / (pl.col("answered").fill_null(0) + 2)))
    return out.select(list(PARTNERS)).cast(PARTNERS)  # type: ignore[arg-type]


def contacts(session: Session, household_ids: Sequence[int]) -> dict[int, dict[str, object]]:
    """Each household's head: name, ID number, phone, and whether any current member is registered disabled."""
    if not household_ids:
        return {}
    stmt = (select(Membership.household_id, Membership.relation, Person.name, Person.id_number, Person.phone,
                   Person.disability_grade).join(Person, Person.id == Membership.person_id)
            .where(Membership.valid_to.is_(None)))
    df = read_frame_in(session, stmt, Membership.__table__.c.household_id, list(household_ids),
                       schema={"household_id": pl.Int64(), "relation": pl.String(), "name": pl.String(),
                               "id_number": pl.String(), "phone": pl.String(), "grade": pl.Int64()})
    out: dict[int, dict[str, object]] = {}
    for hid, rows in df.sort("household_id").group_by("household_id", maintain_order=True):
        head = rows.filter(pl.col("relation") == "head")
        first = (head if head.height else rows).row(0, named=True)
        out[int(hid[0])] = {"name": first["name"] or "", "id_number": first["id_number"] or "",
                            "phone": first["phone"] or "", "disabled": rows["grade"].drop_nulls().len() > 0}
    return out


def household_area(session: Session, household_id: int) -> str | None:
    """A household's area code."""
    return session.scalar(select(Household.area_code).where(Household.id == household_id))
