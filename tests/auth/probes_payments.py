"""Access-matrix probes for payments: rolls (read, prepare, approve), bank files, reconciliation, payee accounts
(change and audited unmask) and the township reserve fund. `payment_objects` adds what they aim at to a target:
a draft roll of the target's county with one line of the target's household, and a funded reserve fund."""

from __future__ import annotations

import zlib
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.auth.probes import Ctx, Probe, Target

PROGRAM_OF = {"own": "dibao", "other_town": "child_welfare", "other_county": "dibao"}  # one roll per county+program
PREPARE_MONTH = {"own": "2025-01", "other_town": "2025-02", "other_county": "2025-03"}


def payment_objects(db: Session, *, scope: str, village: str, household_id: int, today: date) -> dict[str, Any]:
    """A draft roll (prepared by nobody in the matrix) with the household's line, and 1,000 元 in the reserve."""
    from doudi.payments.models import LedgerKind, PaymentLine, PaymentRoll, ReserveEntry

    county = village[:6]
    roll = PaymentRoll(area_code=county, month=today.replace(day=1), program=PROGRAM_OF[scope], status="draft",
                       version=1, line_count=1, total_fen=30000, prepared_by_name="矩阵制单")
    db.add(roll)
    db.flush()
    payee = f"收款{scope}{household_id}"
    account = f"6230{household_id:012d}"
    line = PaymentLine(roll_id=roll.id, payee_key=f"H{household_id}", program=roll.program, component="basic",
                       covers="basic", entitlement_month=roll.month, amount_fen=30000, area_code=village,
                       household_id=household_id, payee_name=payee, bank_name="矩阵银行", account_no=account,
                       end_to_end_id=f"DD{roll.id}-M{household_id}", status="pending", rule=f"矩阵规则{scope}")
    db.add(line)
    db.add(ReserveEntry(township_code=village[:9], seq=1, kind=LedgerKind.ALLOT, amount_fen=100000,
                        balance_fen=100000, recorded_by="矩阵"))
    db.flush()
    return {"roll": roll.id, "line": line.id, "payee": payee, "account": account, "e2e": line.end_to_end_id}


def _roll(ctx: Ctx, t: Target) -> Any:
    from doudi.payments.models import PaymentRoll

    ctx.session.expire_all()
    return ctx.session.get(PaymentRoll, t.extra["roll"])


def _line_status(ctx: Ctx, t: Target) -> str:
    from doudi.payments.models import PaymentLine

    ctx.session.expire_all()
    line = ctx.session.get(PaymentLine, t.extra["line"])
    return str(line.status) if line else ""


def _prepared(ctx: Ctx, t: Target) -> bool:
    from doudi.payments.models import PaymentRoll

    ctx.session.expire_all()
    y, m = PREPARE_MONTH[t.scope].split("-")
    return ctx.session.scalar(select(PaymentRoll.id).where(PaymentRoll.area_code == t.area_code[:6],
                                                           PaymentRoll.month == date(int(y), int(m), 1))) is not None


def _account_no(ctx: Ctx, t: Target) -> str:
    return f"6229{t.household_id:08d}{zlib.crc32(ctx.role.encode()) % 10000:04d}"


def _account_proposed(ctx: Ctx, t: Target) -> bool:
    from doudi.payments.models import PayeeAccount

    ctx.session.expire_all()
    return ctx.session.scalar(select(PayeeAccount.id).where(PayeeAccount.account_no == _account_no(ctx, t))) \
        is not None


def _reserve_note(ctx: Ctx, t: Target) -> str:
    return f"矩阵拨付{ctx.role[:6]}{t.scope}"


def _reserve_entry(**where: Any) -> Any:
    def check(ctx: Ctx, t: Target) -> bool:
        from doudi.payments.models import ReserveEntry

        ctx.session.expire_all()
        stmt = select(ReserveEntry.id)
        for k, v in where.items():
            stmt = stmt.where(getattr(ReserveEntry, k) == (v(ctx, t) if callable(v) else v))
        return ctx.session.scalar(stmt) is not None

    return check


def _return_csv(t: Target) -> bytes:
    return f"流水号,金额,状态\n{t.extra['e2e']},300.00,成功\n".encode()


def payment_probes() -> list[Probe]:
    """Probes for payment.*, payee_account.* and reserve.* (in an order where each builds on the one before)."""
    return [
        Probe("payment.read", "page", lambda c, t: c.page.get(f"/payments/rolls/{t.extra['roll']}"),
              leaked=lambda r, t: t.extra["payee"] in r.text),
        Probe("payment.read", "api", lambda c, t: c.api.get(f"/api/v1/payments/rolls/{t.extra['roll']}"),
              leaked=lambda r, t: t.extra["payee"] in r.text),
        Probe("payment.prepare", "api",
              lambda c, t: c.api.post("/api/v1/payments/rolls", json={
                  "area_code": t.area_code[:6], "month": PREPARE_MONTH[t.scope], "program": "dibao"}),
              took_effect=_prepared, county_only=True),
        Probe("payment.approve", "api",
              lambda c, t: c.api.post(f"/api/v1/payments/rolls/{t.extra['roll']}/approve",
                                      json={"version": _roll(c, t).version}),
              took_effect=lambda c, t: _roll(c, t).status == "approved", county_only=True),
        Probe("payment.export", "api",
              lambda c, t: c.api.post(f"/api/v1/payments/rolls/{t.extra['roll']}/bank-file?format=pain001"),
              leaked=lambda r, t: r.status_code == 200 and t.extra["payee"] in r.content.decode("utf-8", "replace")),
        Probe("payment.reconcile", "page",
              lambda c, t: c.page.post("/payments/returns", headers={"X-CSRF-Token": c.csrf},
                                       files={"file": (f"r-{c.role}-{t.scope}.csv", _return_csv(t), "text/csv")}),
              took_effect=lambda c, t: _line_status(c, t) == "paid"),
        Probe("payee_account.manage", "api",
              lambda c, t: c.api.post("/api/v1/payments/accounts", json={
                  "payee_key": f"H{t.household_id}", "area_code": t.area_code, "holder_name": "矩阵户主",
                  "bank_name": "矩阵银行", "account_no": _account_no(c, t)}),
              took_effect=_account_proposed),
        Probe("payee_account.unmask", "page",
              lambda c, t: c.page.post(f"/payments/lines/{t.extra['line']}/unmask", headers={"X-CSRF-Token": c.csrf},
                                       data={"reason": "矩阵核对"}),
              leaked=lambda r, t: t.extra["account"] in r.text),
        Probe("reserve.manage", "page",
              lambda c, t: c.page.post("/payments/reserve", data={
                  "csrf_token": c.csrf, "township": t.area_code[:9], "kind": "allot", "amount": "10",
                  "note": _reserve_note(c, t)}),
              took_effect=_reserve_entry(note=_reserve_note)),
        Probe("reserve.spend", "page",
              lambda c, t: c.page.post("/payments/reserve", data={
                  "csrf_token": c.csrf, "township": t.area_code[:9], "kind": "spend", "amount": "20",
                  "case_id": str(t.extra["case_inv"])}),
              took_effect=_reserve_entry(case_id=lambda c, t: t.extra["case_inv"])),
    ]
