"""Charity JSON API (/api/v1/charity/…): partners, consents, the needs ledger and its actions, matching runs and
Excel exports; a partner's account sees only the needs sent to it, masked."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import Response

from doudi.audit import service as audit
from doudi.charity import consents, export, flows, partners, service
from doudi.charity.schemas import (
    ConsentRead,
    MatchRead,
    NeedAction,
    NeedCreate,
    NeedPage,
    NeedRead,
    PartnerCreate,
    PartnerRead,
)
from doudi.core import clock, excel
from doudi.core.validation import MAX_PAGE, Id
from doudi.deps import ApiActor, SessionDep

router = APIRouter(prefix="/charity", tags=["charity"])


@router.get("/partners", response_model=list[PartnerRead])
def partner_list(actor: ApiActor, session: SessionDep, kind: str = "", offer: str = "") -> list[PartnerRead]:
    """Partners serving the caller's area (a partner sees itself)."""
    return [PartnerRead.model_validate(p) for p in partners.list_partners(session, actor=actor, kind=kind,
                                                                            offer=offer)]


@router.post("/partners", response_model=PartnerRead, status_code=201)
def partner_create(body: PartnerCreate, actor: ApiActor, session: SessionDep) -> PartnerRead:
    """Register a partner (county officers)."""
    p = partners.create(session, actor=actor, data=body)
    session.commit()
    return PartnerRead.model_validate(p)


@router.get("/needs", response_model=NeedPage)
def needs(actor: ApiActor, session: SessionDep, status: str = "", kind: str = "", source: str = "",
          township: str = "", q: str = "", overdue: bool = False, page: int = Query(1, ge=1, le=MAX_PAGE),
          per_page: int = Query(50, ge=1, le=500)) -> NeedPage:
    """The needs ledger in the caller's scope, filtered and paged, contacts masked."""
    f = service.Filters(status=status, kind=kind, source=source, township=township, q=q, overdue=overdue)
    rows, total = service.list_needs(session, actor=actor, filters=f, today=clock.today(), page=page,
                                     per_page=per_page)
    return NeedPage(total=total, page=page, items=service.shown_all(session, rows))


@router.post("/needs", response_model=NeedRead, status_code=201)
def need_create(body: NeedCreate, actor: ApiActor, session: SessionDep) -> NeedRead:
    """Raise a need for a household in the caller's area."""
    need = service.raise_need(session, actor=actor, data=body, today=clock.today())
    session.commit()
    return service.shown_all(session, [need])[0]


@router.get("/needs/export")
def needs_export(actor: ApiActor, session: SessionDep, status: str = "", kind: str = "") -> Response:
    """The needs ledger as Excel, masked."""
    sheet = export.need_sheet(session, actor=actor, filters=service.Filters(status=status, kind=kind),
                              today=clock.today())
    audit.record(session, actor=actor, action="charity.export", object_type="charity_export",
                 object_id=sum(1 for _ in sheet.rows), extra={"status": status, "kind": kind})
    session.commit()
    return Response(excel.to_bytes(sheet), media_type=export.XLSX,
                    headers={"Content-Disposition": 'attachment; filename="charity-needs.xlsx"'})


@router.post("/match", status_code=200)
def match_run(actor: ApiActor, session: SessionDep, area: str = "") -> dict[str, int]:
    """Propose partners for every need waiting in the area, as one batch."""
    n = service.propose(session, actor=actor, today=clock.today(), area=area)
    session.commit()
    return {"proposed": n}


@router.get("/needs/{need_id}", response_model=NeedRead)
def need(need_id: Id, actor: ApiActor, session: SessionDep) -> NeedRead:
    """One need in the caller's scope."""
    return service.shown_all(session, [service.get_need(session, actor=actor, need_id=need_id)])[0]


@router.get("/needs/{need_id}/matches", response_model=list[MatchRead])
def need_matches(need_id: Id, actor: ApiActor, session: SessionDep) -> list[MatchRead]:
    """A need's proposals (a partner sees its own)."""
    n = service.get_need(session, actor=actor, need_id=need_id)
    return [MatchRead.model_validate(m) for m in service.matches_of(session, actor=actor, need=n)]


@router.post("/needs/{need_id}/actions", response_model=NeedRead)
def need_action(need_id: Id, body: NeedAction, actor: ApiActor, session: SessionDep) -> NeedRead:
    """Propose, confirm or reject a proposal (township); accept, decline or deliver (partner); close."""
    n = flows.act(session, actor=actor, need_id=need_id, action=body.action, version=body.version,
                  match_id=body.match_id, reason=body.reason, delivered_fen=body.delivered_fen, today=clock.today())
    session.commit()
    return service.shown_all(session, [n])[0]


@router.get("/households/{household_id}/consents", response_model=list[ConsentRead])
def household_consents(household_id: Id, actor: ApiActor, session: SessionDep) -> list[ConsentRead]:
    """A household's consents in the caller's area."""
    return [ConsentRead.model_validate(c) for c in consents.for_household(session, actor=actor,
                                                                          household_id=household_id)]


@router.post("/consents/{consent_id}/withdraw", response_model=ConsentRead)
def consent_withdraw(consent_id: Id, actor: ApiActor, session: SessionDep, reason: str = "",
                     version: int | None = None) -> ConsentRead:
    """Withdraw a consent on the household's word."""
    actor.require("charity.consent")
    c = consents.withdraw(session, actor=actor, consent=consents.get(session, actor=actor, consent_id=consent_id),
                          version=version, reason=reason, today=clock.today())
    session.commit()
    return ConsentRead.model_validate(c)
