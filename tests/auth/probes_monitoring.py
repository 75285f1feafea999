"""Access-matrix probes of monitoring: the warning ledger, its actions and exports, runs and referrals.

Each target household carries one open warning (reason tagged with the target's audit tag) and one referral
addressed to the default liaison's agency (social_insurance); see `seed_monitoring` in the matrix world."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.core import clock
from tests.auth.probes import Ctx, Probe, Target, _text, _xlsx_has


def seed_monitoring(db: Session, *, household_id: int, person_id: int, id_number: str, village: str, tag: str
                    ) -> dict[str, Any]:
    """One open death warning and one referral for the target (ids into Target.extra)."""
    from doudi.monitoring.models import MonitorWarning, Referral

    today = clock.today()
    w = MonitorWarning(rule_key="death", level="red", status="new", subject_key=f"p{person_id}",
                       open_key=f"death:p{person_id}", person_id=person_id, household_id=household_id,
                       area_code=village, person_name="甲", id_number=id_number, reason=f"探针预警{tag}",
                       first_seen_on=today, last_seen_on=today, due_on=today, version=1)
    db.add(w)
    db.flush()
    r = Referral(warning_id=w.id, household_id=household_id, person_id=person_id, area_code=village,
                 target_kind="agency", target_key="social_insurance", purpose=f"探针转办{tag}", status="sent",
                 due_on=today, version=1)
    db.add(r)
    db.flush()
    return {"warning": w.id, "referral": r.id}


def _warning(ctx: Ctx, t: Target) -> Any:
    from doudi.monitoring.models import MonitorWarning

    ctx.session.expire_all()
    return ctx.session.get(MonitorWarning, t.extra["warning"])


def _referral_status(ctx: Ctx, t: Target) -> str:
    from doudi.monitoring.models import Referral

    ctx.session.expire_all()
    r = ctx.session.get(Referral, t.extra["referral"])
    return r.status if r is not None else ""


def _referred_by(marker: str) -> Any:
    def check(ctx: Ctx, t: Target) -> bool:
        from doudi.monitoring.models import Referral

        ctx.session.expire_all()
        return ctx.session.scalar(select(Referral.id).where(Referral.purpose == marker)) is not None

    return check


def _ran_for(ctx: Ctx, t: Target) -> bool:
    from doudi.monitoring.models import MonitorRun

    ctx.session.expire_all()
    return ctx.session.scalar(select(MonitorRun.id).where(MonitorRun.area_code == t.area_code)) is not None


def _marker(ctx: Ctx, t: Target, ch: str) -> str:
    return f"probe-{ctx.role}-{t.scope}-{ch}"


def _note_is(marker: str) -> Any:
    def check(ctx: Ctx, t: Target) -> bool:
        w = _warning(ctx, t)
        return w is not None and w.note == marker

    return check


def monitoring_probes() -> list[Probe]:
    """Probes for monitoring.* and referral.* actions."""
    tag = "探针预警"
    return [
        Probe("monitoring.read", "api", lambda c, t: c.api.get(f"/api/v1/monitoring/warnings/{t.extra['warning']}"),
              leaked=lambda r, t: _text(r, t, tag + t.audit_tag)),
        Probe("monitoring.read", "api", lambda c, t: c.api.get("/api/v1/monitoring/warnings?per_page=500&status="),
              leaked=lambda r, t: _text(r, t, tag + t.audit_tag)),
        Probe("monitoring.read", "page", lambda c, t: c.page.get(f"/monitoring/{t.extra['warning']}"),
              leaked=lambda r, t: _text(r, t, tag + t.audit_tag)),
        Probe("monitoring.dispose", "api", lambda c, t: c.api.post(
            f"/api/v1/monitoring/warnings/{t.extra['warning']}/actions",
            json={"action": "verify", "version": _warning(c, t).version, "note": _marker(c, t, "mapi")}),
            took_effect=lambda c, t: _note_is(_marker(c, t, "mapi"))(c, t)),
        Probe("monitoring.dispose", "page", lambda c, t: c.page.post(
            f"/monitoring/{t.extra['warning']}", data={"action": "verify", "version": _warning(c, t).version,
                                                       "note": _marker(c, t, "mpage"), "csrf_token": c.csrf},
            follow_redirects=False),
            took_effect=lambda c, t: _note_is(_marker(c, t, "mpage"))(c, t)),
        Probe("monitoring.export", "api", lambda c, t: c.api.get("/api/v1/monitoring/warnings/export?format=xlsx"),
              leaked=lambda r, t: _xlsx_has(r, tag + t.audit_tag)),
        Probe("monitoring.export", "page", lambda c, t: c.page.get("/monitoring/export.xlsx?status="),
              leaked=lambda r, t: _xlsx_has(r, tag + t.audit_tag)),
        Probe("monitoring.unmask", "api", lambda c, t: c.api.get(
            "/api/v1/monitoring/warnings/export?format=csv&unmask=true&reason=矩阵核对"),
            leaked=lambda r, t: _text(r, t, t.id_number)),
        Probe("monitoring.run", "api", lambda c, t: c.api.post("/api/v1/monitoring/runs", json={"area": t.area_code}),
              took_effect=_ran_for),
        Probe("referral.read", "api", lambda c, t: c.api.get("/api/v1/monitoring/referrals"),
              leaked=lambda r, t: _text(r, t, "探针转办" + t.audit_tag)),
        Probe("referral.read", "page", lambda c, t: c.page.get("/monitoring/referrals"),
              leaked=lambda r, t: _text(r, t, "探针转办" + t.audit_tag)),
        Probe("referral.answer", "api", lambda c, t: c.api.post(
            f"/api/v1/monitoring/referrals/{t.extra['referral']}/answer",
            json={"acknowledge_only": True, "result": ""}),
            took_effect=lambda c, t: _referral_status(c, t) == "acknowledged"),
        Probe("referral.create", "api", lambda c, t: c.api.post("/api/v1/monitoring/referrals", json={
            "warning_id": t.extra["warning"], "target_key": "medical", "purpose": _marker(c, t, "ref")}),
            took_effect=lambda c, t: _referred_by(_marker(c, t, "ref"))(c, t)),
    ]
