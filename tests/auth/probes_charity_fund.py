"""Access-matrix probes for the charity fund (donations, grants and their approval, exports, group insurance and the
insurer's file) and for social-work support and pairing. `charity_fund_objects` adds what they aim at to a
target: 1,000 元 of general money in the target's county fund, a pending grant for the household, a policy
insuring the household's head, and an open support plan."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.core import clock
from tests.auth.probes import Ctx, Probe, Target, _xlsx_has


def charity_fund_objects(db: Session, *, scope: str, village: str, household_id: int, person_id: int,
                         today: date) -> dict[str, Any]:
    """The target's fund objects, made by a maker nobody in the matrix is."""
    from doudi.auth.permissions import system_actor
    from doudi.charity.fund import insurance, service
    from doudi.charity.fund.models import Insured
    from doudi.charity.support import service as support

    maker = system_actor(name="矩阵经办")
    county = village[:6]
    service.record_donation(db, actor=maker, area_code=county, receipt_no=f"MX-{scope}-{household_id}",
                            donor_name="矩阵捐赠", amount_fen=100_000, purpose="general", restricted=False,
                            received_on=today, today=today)
    reason = f"矩阵拨付{scope}{household_id}"
    grant = service.make_grant(db, actor=maker, amount_fen=1_000, purpose="one_off_aid", pool="general",
                               reason=reason, household_id=household_id)
    policy = insurance.create_policy(db, actor=maker, county=county, policy_no=f"MXBX-{scope}-{household_id}",
                                     insurer="矩阵保险", start_on=date(today.year, 1, 1),
                                     end_on=date(today.year, 12, 31), premium_fen=10_000)
    db.add(Insured(policy_id=policy.id, person_id=person_id, household_id=household_id, program="dibao",
                   area_code=village))
    worker = f"矩阵社工{scope}{household_id}"
    plan = support.open_plan(db, actor=maker, household_id=household_id, worker_name=worker, opened_on=today,
                             goals=[("employment", "就业")])
    db.flush()
    return {"fund_grant": grant.id, "fund_reason": reason, "policy": policy.id, "plan": plan.id, "worker": worker}


def _exists(model_path: str, column: str, value: Any) -> Any:
    def check(ctx: Ctx, t: Target) -> bool:
        import importlib

        module, name = model_path.rsplit(".", 1)
        model = getattr(importlib.import_module(module), name)
        ctx.session.expire_all()
        want = value(ctx, t) if callable(value) else value
        return ctx.session.scalar(select(model.id).where(getattr(model, column) == want)) is not None

    return check


def _grant_status(ctx: Ctx, t: Target) -> str:
    from doudi.charity.fund.models import Grant

    ctx.session.expire_all()
    g = ctx.session.get(Grant, t.extra["fund_grant"])
    return str(g.status) if g else ""


def _grant_version(ctx: Ctx, t: Target) -> int:
    from doudi.charity.fund.models import Grant

    ctx.session.expire_all()
    g = ctx.session.get(Grant, t.extra["fund_grant"])
    return int(g.version) if g else 0


def _receipt(c: Ctx, t: Target) -> str:
    return f"MXD-{c.role[:12]}-{t.scope}"


def _policy_no(c: Ctx, t: Target) -> str:
    return f"MXP-{c.role[:12]}-{t.scope}"


def _partner(c: Ctx, t: Target) -> str:
    return f"mx-{c.role[:12]}-{t.scope}"


def charity_fund_probes() -> list[Probe]:
    """Probes for fund.* and support.*."""
    today = clock.today().isoformat()
    return [
        Probe("fund.read", "page", lambda c, t: c.page.get(f"/charity/fund/grants/{t.extra['fund_grant']}"),
              leaked=lambda r, t: t.extra["fund_reason"] in r.text),
        Probe("fund.read", "api", lambda c, t: c.api.get(f"/api/v1/charity/fund/grants/{t.extra['fund_grant']}"),
              leaked=lambda r, t: f'"household_id":{t.household_id}' in r.text),
        Probe("fund.donate", "api",
              lambda c, t: c.api.post("/api/v1/charity/fund/donations", json={
                  "area_code": t.area_code[:6], "receipt_no": _receipt(c, t), "donor_name": "矩阵", "amount": "5",
                  "purpose": "general", "received_on": today}),
              took_effect=_exists("doudi.charity.fund.models.Donation", "receipt_no", _receipt), county_only=True),
        Probe("fund.grant", "api",
              lambda c, t: c.api.post("/api/v1/charity/fund/grants", json={
                  "amount": "1", "purpose": "one_off_aid", "pool": "general", "reason": f"矩阵{c.role}{t.scope}",
                  "household_id": t.household_id}),
              took_effect=_exists("doudi.charity.fund.models.Grant", "reason", lambda c, t: f"矩阵{c.role}{t.scope}")),
        Probe("fund.approve", "api",
              lambda c, t: c.api.post(f"/api/v1/charity/fund/grants/{t.extra['fund_grant']}/decide",
                                      json={"version": _grant_version(c, t), "approve": True}),
              took_effect=lambda c, t: _grant_status(c, t) == "approved"),
        Probe("fund.export", "page",
              lambda c, t: c.page.get(f"/charity/fund/grants/export.xlsx?q={t.extra['fund_reason']}"),
              leaked=lambda r, t: _xlsx_has(r, t.extra["fund_reason"])),
        Probe("fund.insure", "page",
              lambda c, t: c.page.post("/charity/fund/policies", data={
                  "csrf_token": c.csrf, "area_code": t.area_code[:6], "policy_no": _policy_no(c, t),
                  "insurer": "矩阵保险", "start_on": "2026-01-01", "end_on": "2026-12-31", "premium": "50"}),
              took_effect=_exists("doudi.charity.fund.models.Policy", "policy_no", _policy_no), county_only=True),
        Probe("fund.insurer_file", "page",
              lambda c, t: c.page.get(f"/charity/fund/policies/{t.extra['policy']}/insurer.xlsx"),
              leaked=lambda r, t: _xlsx_has(r, t.id_number)),
        Probe("support.read", "page", lambda c, t: c.page.get(f"/charity/support/plans/{t.extra['plan']}"),
              leaked=lambda r, t: t.extra["worker"] in r.text),
        Probe("support.read", "api", lambda c, t: c.api.get(f"/api/v1/charity/support/plans/{t.extra['plan']}"),
              leaked=lambda r, t: t.extra["worker"] in r.text),
        Probe("support.manage", "api",
              lambda c, t: c.api.post("/api/v1/charity/support/pairings", json={
                  "partner_key": _partner(c, t), "company_name": "矩阵企业", "household_id": t.household_id,
                  "pledge": "矩阵承诺", "signed_on": today, "start_on": today, "end_on": today}),
              took_effect=_exists("doudi.charity.support.models.Pairing", "partner_key", _partner)),
        Probe("support.export", "page",
              lambda c, t: c.page.get(f"/charity/support/plans/export.xlsx?q={t.extra['worker']}"),
              leaked=lambda r, t: _xlsx_has(r, t.extra["worker"])),
    ]
