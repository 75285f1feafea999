"""Access-matrix probes of charity: the needs ledger (API, page, Excel), raising a need, consents, the partner
register and a partner's answer.

Each target household carries one cash need with the household's valid consent, sent to the matrix's partner
(probe_partner, whose account every `partner` user of the matrix is); see `seed_charity`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.core import clock
from tests.auth.probes import Ctx, Probe, Target, _text, _xlsx_has

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
TAG = "探针需求"


def seed_charity(db: Session, *, household_id: int, village: str, tag: str) -> dict[str, Any]:
    """A valid consent and a need sent to probe_partner (its match confirmed), ids into Target.extra."""
    from doudi.charity.models import Consent, Match, Need

    today = clock.today()
    c = Consent(household_id=household_id, area_code=village, purpose="cash", method="portal", status="valid",
                signed_by="甲", given_on=today, version=1)
    db.add(c)
    db.flush()
    n = Need(household_id=household_id, area_code=village, source="gap", kind="cash", amount_fen=100_000,
             description=f"{TAG}{tag}", deadline=today + timedelta(days=30), consent_id=c.id, status="matched",
             partner_key="probe_partner", raised_on=today, version=1)
    db.add(n)
    db.flush()
    db.add(Match(need_id=n.id, partner_key="probe_partner", area_code=village, kind="cash", rank=1,
                 status="confirmed", proposed_on=today, due_on=today + timedelta(days=7), version=1))
    db.flush()
    return {"need": n.id}


def _marker(ctx: Ctx, t: Target, ch: str) -> str:
    return f"probe-{ctx.role}-{t.scope}-{ch}"


def _key(ctx: Ctx, t: Target) -> str:
    return f"k{abs(hash(_marker(ctx, t, 'partner'))) % 10**12}"


def _need_with(marker: str) -> Any:
    def check(ctx: Ctx, t: Target) -> bool:
        from doudi.charity.models import Need

        ctx.session.expire_all()
        return ctx.session.scalar(select(Need.id).where(Need.description == marker)) is not None

    return check


def _consent_by(marker: str) -> Any:
    def check(ctx: Ctx, t: Target) -> bool:
        from doudi.charity.models import Consent

        ctx.session.expire_all()
        return ctx.session.scalar(select(Consent.id).where(Consent.signed_by == marker)) is not None

    return check


def _partner_named(ctx: Ctx, t: Target) -> bool:
    from doudi.charity.models import Partner

    ctx.session.expire_all()
    return ctx.session.scalar(select(Partner.id).where(Partner.key == _key(ctx, t))) is not None


def _accepted(ctx: Ctx, t: Target) -> bool:
    from doudi.charity.models import Need

    ctx.session.expire_all()
    n = ctx.session.get(Need, t.extra["need"])
    return n is not None and n.status == "accepted"


def charity_probes() -> list[Probe]:
    """Probes for charity.* actions."""
    return [
        Probe("charity.read", "api", lambda c, t: c.api.get("/api/v1/charity/needs?per_page=500"),
              leaked=lambda r, t: _text(r, t, TAG + t.audit_tag)),
        Probe("charity.read", "api", lambda c, t: c.api.get(f"/api/v1/charity/needs/{t.extra['need']}"),
              leaked=lambda r, t: _text(r, t, TAG + t.audit_tag)),
        Probe("charity.read", "page", lambda c, t: c.page.get(f"/charity/needs/{t.extra['need']}"),
              leaked=lambda r, t: _text(r, t, TAG + t.audit_tag)),
        Probe("charity.export", "page", lambda c, t: c.page.get("/charity/needs/export.xlsx"),
              leaked=lambda r, t: _xlsx_has(r, TAG + t.audit_tag)),
        Probe("charity.export", "api", lambda c, t: c.api.get("/api/v1/charity/needs/export"),
              leaked=lambda r, t: _xlsx_has(r, TAG + t.audit_tag)),
        Probe("charity.manage", "api", lambda c, t: c.api.post("/api/v1/charity/needs", json={
            "household_id": t.household_id, "kind": "goods", "size": "一批物资",
            "description": _marker(c, t, "need"), "deadline": (clock.today() + timedelta(days=30)).isoformat()}),
            took_effect=lambda c, t: _need_with(_marker(c, t, "need"))(c, t)),
        Probe("charity.consent", "page", lambda c, t: c.page.post(
            f"/charity/households/{t.household_id}/consents",
            data={"csrf_token": c.csrf, "purpose": "goods", "signed_by": _marker(c, t, "consent")},
            files={"file": ("同意书.pdf", PDF, "application/pdf")}, follow_redirects=False),
            took_effect=lambda c, t: _consent_by(_marker(c, t, "consent"))(c, t)),
        Probe("charity.partners", "api", lambda c, t: c.api.post("/api/v1/charity/partners", json={
            "key": _key(c, t), "name": "探针新机构", "kind": "community", "area_code": t.area_code,
            "offers": ["goods"], "capacity": {"goods": 1}}),
            took_effect=_partner_named),
        Probe("charity.respond", "api", lambda c, t: c.api.post(
            f"/api/v1/charity/needs/{t.extra['need']}/actions", json={"action": "accept"}),
            took_effect=_accepted),
    ]
