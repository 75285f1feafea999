"""The fund's JSON API under /api/v1/charity/fund."""

from __future__ import annotations

from fastapi import APIRouter, Query

from doudi.charity.fund import insurance, report, service
from doudi.charity.fund.labels import parse_fen, yuan
from doudi.charity.fund.models import Grant
from doudi.charity.fund.schemas import Decision, DonationIn, GrantIn, GrantOut
from doudi.core import clock
from doudi.core.errors import FieldError, ValidationFailed
from doudi.core.masking import mask_id, mask_name
from doudi.core.validation import MAX_PAGE, Id
from doudi.deps import ApiActor, SessionDep

router = APIRouter(prefix="/charity/fund", tags=["charity"])


def _fen(text: str, field: str) -> int:
    try:
        return parse_fen(text)
    except ValueError:
        raise ValidationFailed([FieldError(field, "应为金额（元，最多两位小数）")]) from None


def grant_out(g: Grant) -> GrantOut:
    """Serialise a grant."""
    return GrantOut(id=g.id, area_code=g.area_code, amount=yuan(g.amount_fen), purpose=g.purpose, pool=g.pool,
                    status=g.status, need_id=g.need_id, case_id=g.case_id, household_id=g.household_id,
                    policy_id=g.policy_id, made_by=g.made_by_name, decided_by=g.decided_by_name, version=g.version)


@router.get("/balances")
def balances(session: SessionDep, actor: ApiActor, area: str) -> dict[str, str]:
    """A county fund's balance per pool (yuan)."""
    return {k: yuan(v) for k, v in service.balances(session, actor=actor, county=area).items()}


@router.post("/donations", status_code=201)
def donate(body: DonationIn, session: SessionDep, actor: ApiActor) -> dict[str, object]:
    """Record a donation (a receipt number recorded before is refused with 409)."""
    d = service.record_donation(session, actor=actor, area_code=body.area_code, receipt_no=body.receipt_no,
                                donor_name=body.donor_name, amount_fen=_fen(body.amount, "amount"),
                                purpose=body.purpose, restricted=body.restricted, received_on=body.received_on,
                                today=clock.today(), donor_kind=body.donor_kind, donor_contact=body.donor_contact,
                                restrictions=body.restrictions)
    session.commit()
    return {"id": d.id, "receipt_no": d.receipt_no, "amount": yuan(d.amount_fen)}


@router.get("/donations")
def donations(session: SessionDep, actor: ApiActor, purpose: str = "", q: str = "",
              page: int = Query(1, ge=1, le=MAX_PAGE)) -> dict[str, object]:
    """Donations in scope (individual donors' names masked)."""
    p = service.list_donations(session, actor=actor, f=service.Filter(purpose=purpose, q=q), page=page)
    return {"total": p.total, "page": page, "items": [
        {"id": d.id, "receipt_no": d.receipt_no, "received_on": d.received_on.isoformat(),
         "donor": d.donor_name if d.donor_kind == "company" else mask_name(d.donor_name), "purpose": d.purpose,
         "restricted": d.restricted, "amount": yuan(d.amount_fen), "area_code": d.area_code} for d in p.rows]}


@router.post("/grants", status_code=201)
def make_grant(body: GrantIn, session: SessionDep, actor: ApiActor) -> GrantOut:
    """Propose a grant (maker)."""
    g = service.make_grant(session, actor=actor, amount_fen=_fen(body.amount, "amount"), purpose=body.purpose,
                           pool=body.pool, reason=body.reason, need_id=body.need_id, case_id=body.case_id,
                           household_id=body.household_id)
    session.commit()
    return grant_out(g)


@router.get("/grants")
def grants(session: SessionDep, actor: ApiActor, status: str = "", purpose: str = "",
           page: int = Query(1, ge=1, le=MAX_PAGE)) -> dict[str, object]:
    """Grants in scope."""
    p = service.list_grants(session, actor=actor, f=service.Filter(purpose=purpose, status=status), page=page)
    return {"total": p.total, "page": page, "items": [grant_out(g) for g in p.rows]}


@router.get("/grants/{grant_id}")
def get_grant(grant_id: Id, session: SessionDep, actor: ApiActor) -> GrantOut:
    """One grant."""
    return grant_out(service.get_grant(session, actor=actor, grant_id=grant_id))


@router.post("/grants/{grant_id}/decide")
def decide(grant_id: Id, body: Decision, session: SessionDep, actor: ApiActor) -> GrantOut:
    """Approve or reject a grant (checker; never the maker)."""
    g = service.decide_grant(session, actor=actor, grant_id=grant_id, version=body.version, approve=body.approve,
                             today=clock.today(), note=body.note)
    session.commit()
    return grant_out(g)


@router.get("/transparency")
def transparency(session: SessionDep, area: str, year: int = Query(..., ge=2000, le=2100)) -> dict[str, object]:
    """The public report (no personal data; needs no token)."""
    r = report.transparency(session, county=area, year=year)
    return {"county": r.county, "year": r.year,
            "months": [{"month": f"{m:%Y-%m}", "purpose": p, "donations": d, "in": yuan(i), "grants": g,
                        "out": yuan(o)} for m, p, d, i, g, o in r.rows.iter_rows()],
            "purposes": [{"purpose": p, "in": yuan(i), "out": yuan(o), "balance": yuan(b)} for p, i, o, b in
                         r.by_purpose.select("purpose", "in_fen", "out_fen", "balance_fen").iter_rows()]}


@router.get("/policies")
def policies(session: SessionDep, actor: ApiActor, status: str = "",
             page: int = Query(1, ge=1, le=MAX_PAGE)) -> dict[str, object]:
    """Group insurance policies in scope."""
    p = insurance.list_policies(session, actor=actor, page=page, status=status)
    return {"total": p.total, "page": page, "items": [
        {"id": x.id, "policy_no": x.policy_no, "insurer": x.insurer, "start_on": x.start_on.isoformat(),
         "end_on": x.end_on.isoformat(), "premium": yuan(x.premium_fen), "members": x.member_count,
         "status": x.status, "version": x.version} for x in p.rows]}


@router.get("/policies/{policy_id}")
def policy(policy_id: Id, session: SessionDep, actor: ApiActor,
           page: int = Query(1, ge=1, le=MAX_PAGE)) -> dict[str, object]:
    """A policy, one page of its members (ID numbers masked) and its claims."""
    p = insurance.get_policy(session, actor=actor, policy_id=policy_id)
    members = session.execute(insurance.members_query(actor, p.id).limit(100).offset((page - 1) * 100)).all()
    return {"id": p.id, "policy_no": p.policy_no, "status": p.status, "members_total": p.member_count,
            "members": [{"id": m.id, "name": m.name, "id_number": mask_id(m.id_number), "program": m.program,
                         "area_code": m.area_code} for m in members],
            "claims": [{"id": c.id, "claim_no": c.claim_no, "member_id": c.member_id, "claimed": yuan(c.claimed_fen),
                        "paid": yuan(c.paid_fen), "status": c.status, "version": c.version}
                       for c in insurance.list_claims(session, actor=actor, policy_id=p.id)]}
