"""Access-matrix probes for the case workflow, policy, verification and import endpoints."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from tests.auth.probes import Ctx, Probe, Target, _new_id, _xlsx_has


def _case(ctx: Ctx, case_id: int) -> Any:
    from doudi.cases.models import Case

    ctx.session.expire_all()
    return ctx.session.get(Case, case_id)


def _version(ctx: Ctx, t: Target, key: str) -> int:
    case = _case(ctx, t.extra[key])
    return int(case.version) if case else 0


def _step_done(key: str, step: str) -> Callable[[Ctx, Target], bool]:
    def check(ctx: Ctx, t: Target) -> bool:
        case = _case(ctx, t.extra[key])
        return any(s.key == step and s.status == "done" for s in case.steps)

    return check


def _step(key: str, step: str, data: dict[str, Any], action: str = "complete") -> Callable[[Ctx, Target], Any]:
    def call(ctx: Ctx, t: Target) -> Any:
        return ctx.api.post(f"/api/v1/cases/{t.extra[key]}/steps/{step}",
                            json={"version": _version(ctx, t, key), "action": action, "data": data})

    return call


def _count(model: Any, **where: Any) -> Callable[[Ctx, Target], int]:
    def count(ctx: Ctx, t: Target) -> int:
        ctx.session.expire_all()
        stmt = select(func.count()).select_from(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == (t.extra[v] if isinstance(v, str) and v in t.extra else v))
        return int(ctx.session.scalar(stmt) or 0)

    return count


def _application(ctx: Ctx, t: Target, marker: str) -> dict[str, Any]:
    n = _new_id()
    return {"area_code": t.area_code, "hukou_type": "rural", "applicant_name": marker, "applicant_id_number": n,
            "members": [{"name": marker, "id_number": n, "relation": "head", "authorised": True}]}


def _case_named(marker: str) -> Callable[[Ctx, Target], bool]:
    def check(ctx: Ctx, t: Target) -> bool:
        from doudi.cases.models import Case

        ctx.session.expire_all()
        return ctx.session.scalar(select(Case.id).where(Case.applicant_name == marker)) is not None

    return check


def _m(ctx: Ctx, t: Target, ch: str) -> str:
    return f"探{ctx.role[:4]}{t.scope}{ch}"


OPINION = {"opinions": {"dibao": {"decision": "approve", "monthly_amount": "400"}}}
OPINION_EP = {"opinions": {"extreme_poverty": {"decision": "approve", "monthly_amount": "1160"}}}


def case_probes() -> list[Probe]:
    """Probes for case.*, document.upload and enrollment.*."""
    from doudi.cases.models import Document, EnrollmentChange

    return [
        Probe("case.read", "api", lambda c, t: c.api.get(f"/api/v1/cases/{t.extra['case_inv']}"),
              leaked=lambda r, t: t.extra["case_no"] in r.text),
        Probe("case.read", "page", lambda c, t: c.page.get(f"/cases/{t.extra['case_inv']}"),
              leaked=lambda r, t: t.extra["case_no"] in r.text),
        Probe("case.read", "api", lambda c, t: c.api.get("/api/v1/cases?per_page=200"),
              leaked=lambda r, t: t.extra["case_no"] in r.text),
        Probe("case.create", "api", lambda c, t: c.api.post("/api/v1/cases", json=_application(c, t, _m(c, t, "a"))),
              took_effect=lambda c, t: _case_named(_m(c, t, "a"))(c, t)),
        Probe("case.accept", "api", lambda c, t: c.api.post(f"/api/v1/cases/{t.extra['case_new']}/accept",
                                                            json={"version": _version(c, t, "case_new")}),
              took_effect=lambda c, t: _case(c, t.extra["case_new"]).status == "open"),
        Probe("case.investigate", "api", _step("case_inv", "investigation_start", {}),
              took_effect=_step_done("case_inv", "investigation_start")),
        Probe("case.review", "api", _step("case_review", "first_review", OPINION),
              took_effect=_step_done("case_review", "first_review")),
        Probe("case.publicize", "api",
              _step("case_pub", "publicity", {"content": "探针异议", "resolution": "reinvestigate"}, "objection"),
              took_effect=_step_done("case_pub", "publicity")),
        Probe("case.confirm", "api", _step("case_confirm", "confirmation", OPINION),
              took_effect=_step_done("case_confirm", "confirmation")),
        Probe("case.spot_check", "api", _step("case_spot", "spot_check", {"result": "upheld"}),
              took_effect=_step_done("case_spot", "spot_check"), county_only=True),
        Probe("case.decide", "api", _step("case_decide", "decision", {}),
              took_effect=_step_done("case_decide", "decision")),
        Probe("case.export", "page", lambda c, t: c.page.get(f"/cases/export.xlsx?q={t.extra['case_no']}"),
              leaked=lambda r, t: _xlsx_has(r, t.extra["case_no"])),
        Probe("case.escalate", "api", lambda c, t: c.api.get("/api/v1/inbox/overdue"),
              leaked=lambda r, t: t.extra["case_no"] in r.text),
        Probe("document.upload", "api",
              lambda c, t: c.api.post(f"/api/v1/cases/{t.extra['case_inv']}/documents", data={"kind": "other"},
                                      files={"file": ("a.pdf", b"%PDF-1.4 probe", "application/pdf")}),
              took_effect=lambda c, t: _count(Document, case_id="case_inv")(c, t) > 0),
        Probe("enrollment.manage", "api",
              lambda c, t: c.api.post(f"/api/v1/enrollments/{t.extra['enrollment']}/review", json={
                  "version": _enrollment_version(c, t), "outcome": "no_change", "reason": "探针复核"}),
              took_effect=lambda c, t: _count(EnrollmentChange, enrollment_id="enrollment", kind="review")(c, t) > 0),
        Probe("enrollment.approve", "api",
              lambda c, t: c.api.post(f"/api/v1/enrollments/{t.extra['enrollment']}/review", json={
                  "version": _enrollment_version(c, t), "outcome": "increase", "new_amount": "999",
                  "reason": "探针增发"}),
              took_effect=lambda c, t: _count(EnrollmentChange, enrollment_id="enrollment", kind="increase")(c, t) > 0),
    ]


def _enrollment_version(ctx: Ctx, t: Target) -> int:
    from doudi.cases.models import Enrollment

    ctx.session.expire_all()
    e = ctx.session.get(Enrollment, t.extra["enrollment"])
    return int(e.version) if e else 0


def _evaluation_body(t: Target) -> dict[str, Any]:
    return {"area_code": t.area_code, "hukou_type": "rural", "has_capable_supporter": False, "date": "2026-11-01",
            "members": [{"relation": "head", "birth_date": "1980-01-01", "monthly_income": {"wage": 100}}]}


def policy_probes() -> list[Probe]:
    """Probes for evaluation.* and policy.read."""
    return [
        Probe("evaluation.run", "api", lambda c, t: c.api.post("/api/v1/evaluations", json=_evaluation_body(t)),
              leaked=lambda r, t: '"programs"' in r.text),
        Probe("evaluation.run", "api", lambda c, t: c.api.get(f"/api/v1/households/{t.household_id}/evaluation"),
              leaked=lambda r, t: '"programs"' in r.text),
        Probe("evaluation.simulate", "api", lambda c, t: c.api.post("/api/v1/simulations", json={
            "date": "2026-11-01", "overrides": {"dibao.standard.rural": 600}, "area_code": t.area_code}),
              leaked=lambda r, t: r.status_code == 200),
        Probe("policy.read", "api", lambda c, t: c.api.get("/api/v1/policy/parameters"), scoped=False,
              leaked=lambda r, t: "dibao.standard.rural" in r.text),
        Probe("policy.read", "page", lambda c, t: c.page.get("/policy"), scoped=False,
              leaked=lambda r, t: "dibao.standard.rural" in r.text),
    ]


def verification_probes() -> list[Probe]:
    """Probes for verification.*, feed.* and linkage.review."""
    from doudi.verification.models import VerificationRequest

    return [
        Probe("verification.request", "api",
              lambda c, t: c.api.post("/api/v1/verification/requests", json={"household_id": t.household_id}),
              took_effect=lambda c, t: _count(VerificationRequest, household_id=t.household_id)(c, t) > 1),
        Probe("verification.read", "api", lambda c, t: c.api.get(f"/api/v1/verification/requests/{t.extra['vreq']}"),
              leaked=lambda r, t: f'"household_id":{t.household_id}' in r.text.replace(" ", "")),
        Probe("verification.read", "api",
              lambda c, t: c.api.get(f"/api/v1/verification/requests/{t.extra['vreq']}/report"),
              leaked=lambda r, t: r.status_code == 200 and "conclusion" in r.text),
        Probe("verification.report", "api",
              lambda c, t: c.api.get(f"/api/v1/verification/requests/{t.extra['vreq']}/report.xlsx"),
              leaked=lambda r, t: r.status_code == 200 and r.content.startswith(b"PK")),
        Probe("feed.read", "api", lambda c, t: c.api.get("/api/v1/verification/batches"), scoped=False,
              leaked=lambda r, t: r.status_code == 200),
        Probe("feed.ingest", "api",
              lambda c, t: c.api.post("/api/v1/verification/batches", data={"source_key": "death"},
                                      files={"file": (f"d-{c.role}-{t.scope}.csv", _death_csv(c, t), "text/csv")}),
              scoped=False, took_effect=lambda c, t: _batch_named(f"d-{c.role}-{t.scope}.csv")(c, t)),
        Probe("linkage.review", "api", lambda c, t: c.api.get("/api/v1/verification/reviews"), scoped=False,
              leaked=lambda r, t: r.status_code == 200),
    ]


def _death_csv(ctx: Ctx, t: Target) -> bytes:
    return f"record_id,id_number,name,date_of_death,record_kind\n{ctx.role}{t.scope},{t.id_number},探针,2026-01-01," \
           f"death_registration\n".encode()


def _batch_named(name: str) -> Callable[[Ctx, Target], bool]:
    def check(ctx: Ctx, t: Target) -> bool:
        from doudi.ingest.models import IngestBatch

        ctx.session.expire_all()
        return ctx.session.scalar(select(IngestBatch.id).where(IngestBatch.file_name.endswith(name))) is not None

    return check


def import_probes() -> list[Probe]:
    """Probe for import.run through the console upload."""
    return [Probe("import.run", "page", lambda c, t: c.page.post(
        "/imports/households", data={"csrf_token": c.csrf},
        files={"file": (f"h-{c.role}-{t.scope}.csv", _household_csv(c, t), "text/csv")}),
        took_effect=lambda c, t: _household_no_exists(f"IMP{c.role[:6]}{t.scope}")(c, t))]


def _household_csv(ctx: Ctx, t: Target) -> bytes:
    n = _new_id()
    return ("household_no,area_code,hukou_type,relation,name,id_number\n"
            f"IMP{ctx.role[:6]}{t.scope},{t.area_code},rural,head,导入探针,{n}\n").encode()


def _household_no_exists(no: str) -> Callable[[Ctx, Target], bool]:
    def check(ctx: Ctx, t: Target) -> bool:
        from doudi.registry.models import Household

        ctx.session.expire_all()
        return ctx.session.scalar(select(Household.id).where(Household.household_no == no)) is not None

    return check


def admin_probes() -> list[Probe]:
    """Probes for system.backup and area.manage (administration pages)."""
    return [
        Probe("system.backup", "page", lambda c, t: c.page.post("/admin/backup", data={"csrf_token": c.csrf}),
              scoped=False, whole_installation=True, leaked=lambda r, t: 'id="backup-made"' in r.text),
        Probe("area.manage", "page", lambda c, t: c.page.post(
            "/admin/areas", data={"csrf_token": c.csrf},
            files={"file": ("a.csv", f"code,name\n{t.area_code[:9]}999,探针村{c.role[:3]}\n".encode(), "text/csv")}),
              took_effect=lambda c, t: _area_named(f"探针村{c.role[:3]}")(c, t)),
    ]


def _area_named(name: str) -> Callable[[Ctx, Target], bool]:
    def check(ctx: Ctx, t: Target) -> bool:
        from doudi.areas.models import Area

        ctx.session.expire_all()
        return ctx.session.scalar(select(Area.code).where(Area.name == name,
                                                          Area.code.startswith(t.area_code[:9]))) is not None

    return check


def dumps(value: Any) -> str:
    """JSON for debugging failures."""
    return json.dumps(value, ensure_ascii=False, default=str)
