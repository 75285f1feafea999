"""Payment JSON API under /api/v1/payments."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import Response

from doudi.core.masking import mask_id
from doudi.core.validation import MAX_PAGE, Id
from doudi.deps import ApiActor, ReadSessionDep, SessionDep
from doudi.payments import bank, service
from doudi.payments.models import PaymentLine, PaymentRoll
from doudi.payments.schemas import AccountCreate, LineRead, RollApprove, RollCreate, RollRead

router = APIRouter(prefix="/payments", tags=["payments"])


def roll_read(r: PaymentRoll) -> RollRead:
    """Serialise a roll."""
    return RollRead(id=r.id, area_code=r.area_code, month=r.month, program=r.program, status=r.status,
                    line_count=r.line_count, total=service.yuan(r.total_fen), prepared_by=r.prepared_by_name,
                    approved_by=r.approved_by_name, approved_at=r.approved_at, version=r.version)


def line_read(x: PaymentLine) -> LineRead:
    """Serialise a line, masked."""
    return LineRead(id=x.id, payee_key=x.payee_key, payee_name=x.payee_name, id_number=mask_id(x.id_number),
                    program=x.program, component=x.component, entitlement_month=x.entitlement_month,
                    amount=service.yuan(x.amount_fen), account_no=service.mask_account(x.account_no),
                    bank_name=x.bank_name, status=x.status, reason=x.reason, rule=x.rule)


@router.get("/rolls")
def list_rolls(session: ReadSessionDep, actor: ApiActor, month: str = "", program: str = "", status: str = "",
               page: int = Query(1, ge=1, le=MAX_PAGE)) -> dict[str, object]:
    """Rolls in the caller's scope."""
    f = service.RollFilter(month=service.parse_month(month) if month else None, program=program, status=status)
    rows, total = service.list_rolls(session, actor=actor, f=f, page=page)
    return {"total": total, "page": page, "items": [roll_read(r) for r in rows]}


@router.post("/rolls", status_code=201)
def create_roll(body: RollCreate, session: SessionDep, actor: ApiActor) -> RollRead:
    """Generate (freeze) a roll; an existing one is returned as it is."""
    r = service.generate_roll(session, actor=actor, county=body.area_code, month=service.parse_month(body.month),
                              program=body.program)
    session.commit()
    return roll_read(r)


@router.get("/rolls/{roll_id}")
def get_roll(roll_id: Id, session: ReadSessionDep, actor: ApiActor,
             page: int = Query(1, ge=1, le=MAX_PAGE)) -> dict[str, object]:
    """A roll and one page of its lines (in the caller's area)."""
    r = service.get_roll(session, actor=actor, roll_id=roll_id)
    lines, total = service.roll_lines(session, actor=actor, roll=r, page=page)
    return {"roll": roll_read(r), "lines_total": total, "lines": [line_read(x) for x in lines]}


@router.post("/rolls/{roll_id}/approve")
def approve(roll_id: Id, body: RollApprove, session: SessionDep, actor: ApiActor) -> RollRead:
    """Approve a draft roll (maker-checker)."""
    r = service.approve_roll(session, actor=actor, roll_id=roll_id, version=body.version)
    session.commit()
    return roll_read(r)


@router.post("/rolls/{roll_id}/bank-file")
def bank_file(roll_id: Id, session: SessionDep, actor: ApiActor, format: str = "pain001",
              seq: int = Query(1, ge=1), file_type: str | None = None) -> Response:
    """One bank file of an approved roll (the first export marks it sent); `file_type` (csv | xlsx) overrides
    the county layout's file type of a domestic file."""
    files = bank.export_roll(session, actor=actor, roll_id=roll_id, fmt=format, file_type=file_type)
    session.commit()
    if seq > len(files):
        return Response(status_code=404)
    f = files[seq - 1]
    media = bank.media_type(f.name)
    return Response(f.data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{f.name}"',
                                                       "X-Files": str(len(files))})


@router.post("/accounts", status_code=201)
def propose_account(body: AccountCreate, session: SessionDep, actor: ApiActor) -> dict[str, object]:
    """Record an account change, pending a second person's confirmation."""
    a = service.propose_account(session, actor=actor, **body.model_dump())
    session.commit()
    return {"id": a.id, "status": a.status, "account_no": service.mask_account(a.account_no), "version": a.version}


@router.post("/accounts/{account_id}/confirm")
def confirm_account(account_id: Id, body: RollApprove, session: SessionDep, actor: ApiActor) -> dict[str, object]:
    """Confirm a pending account (not by the person who entered it)."""
    a = service.confirm_account(session, actor=actor, account_id=account_id, version=body.version)
    session.commit()
    return {"id": a.id, "status": a.status, "version": a.version}
