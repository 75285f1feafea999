"""Access-matrix probes for home care: visits (read, record, schedule, supervise), assessments, assignment,
settlement and the ledgers' export. `care_objects` makes the target's head a dispersed 特困 person served by a
provider of its county (the matrix's care_provider organisation in 安丘), with a visit to check in today, a
flagged visit to review and a verified visit last month to settle."""

from __future__ import annotations

import io
import zlib
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.core import clock
from tests.auth.probes import Ctx, Probe, Target

HOME = (36.478, 119.219)
SERVICES = ["meal", "cleaning"]


def _provider(db: Session, county: str, towns: list[str], today: date) -> Any:
    from doudi.auth.permissions import system_actor
    from doudi.care import service as care
    from doudi.care.models import CareProvider

    key = "ankang_care" if county == "370784" else f"matrix_{county}"  # the matrix's care_provider organisation
    p = db.scalar(select(CareProvider).where(CareProvider.key == key))
    if p is None:
        p = care.create_provider(db, actor=system_actor(), key=key, name=f"矩阵照料{county}", area_code=county,
                                 contract_no=f"M-{county}", contract_from=today - timedelta(days=400),
                                 contract_to=today + timedelta(days=400), townships=towns, services=SERVICES,
                                 hourly_rate=Decimal("30.00"))
    return p


def care_objects(db: Session, *, village: str, person_id: int, household_id: int, today: date,
                 towns: list[str]) -> dict[str, Any]:
    """The target's care world (see the module's docstring)."""
    from doudi.auth.permissions import system_actor
    from doudi.care import service as care
    from doudi.care import visits
    from doudi.care.rules import local_time
    from doudi.cases.models import Enrollment
    from doudi.core.dates import month_start
    from doudi.registry.models import Person

    sys = system_actor()
    person = db.get(Person, person_id)
    assert person is not None
    person.extreme_poverty_supported, person.support_mode = True, "dispersed"
    if village[:6] != "370784":  # a county with no care parameters in its pack: the rows are written directly
        return _rows_elsewhere(db, village=village, person_id=person_id, household_id=household_id, today=today,
                               towns=towns)
    first = month_start(month_start(today) - timedelta(days=40))  # two months back
    db.add(Enrollment(household_id=household_id, person_id=person_id, area_code=village, program="extreme_poverty",
                      status="active", monthly_amount=Decimal("960.00"), level="", start_month=first, version=1))
    db.flush()
    care.record_assessment(db, actor=sys, person_id=person_id, assessed_on=first, assessor="矩阵", evidence="入户",
                           items={k: i >= 2 for i, k in enumerate(("eating", "dressing", "bed_transfer", "toileting",
                                                                   "indoor_walking", "bathing"))})
    p = _provider(db, village[:6], towns, today)
    giver = care.add_caregiver(db, actor=sys, provider_id=p.id, name="矩阵护理", area_code=village[:9])
    care.enroll_recipient(db, actor=sys, person_id=person_id, provider_id=p.id, latitude=HOME[0], longitude=HOME[1])
    day = clock.today()  # the county's date: the server checks in at its now (after 16:00 UTC, a day ahead)
    last = month_start(day) - timedelta(days=20)  # a day of last month
    done = visits.schedule_visit(db, actor=sys, person_id=person_id, caregiver_id=giver.id, service="meal",
                                 start=local_time(last, 9), end=local_time(last, 10))
    visits.check_in(db, actor=sys, visit_id=done.id, at=local_time(last, 9), latitude=HOME[0], longitude=HOME[1],
                    key=f"m-in-{done.id}")
    visits.check_out(db, actor=sys, visit_id=done.id, at=local_time(last, 10), latitude=HOME[0], longitude=HOME[1],
                     key=f"m-out-{done.id}", services_done=["meal"])
    flagged = visits.schedule_visit(db, actor=sys, person_id=person_id, caregiver_id=giver.id, service="meal",
                                    start=local_time(day, 6), end=local_time(day, 7))
    visits.check_in(db, actor=sys, visit_id=flagged.id, at=local_time(day, 6), latitude=None, longitude=None,
                    key=f"m-in-{flagged.id}")
    visits.check_out(db, actor=sys, visit_id=flagged.id, at=local_time(day, 7), latitude=None, longitude=None,
                     key=f"m-out-{flagged.id}", services_done=["meal"])
    todo = visits.schedule_visit(db, actor=sys, person_id=person_id, caregiver_id=giver.id, service="meal",
                                 start=local_time(day, 8), end=local_time(day, 9))
    return {"care_person": person_id, "care_giver": giver.id, "care_provider": p.id, "care_todo": todo.id,
            "care_flagged": flagged.id, "care_done": done.id, "care_last_month": f"{last:%Y-%m}"}


def _rows_elsewhere(db: Session, *, village: str, person_id: int, household_id: int, today: date,
                    towns: list[str]) -> dict[str, Any]:
    """The same objects in another county, written as rows (nobody in the matrix may act on them)."""
    from doudi.care.models import Caregiver, CareProvider, CareRecipient, CareVisit
    from doudi.care.rules import local_time
    from doudi.core.dates import month_start

    county = village[:6]
    p = CareProvider(key=f"matrix_{county}", name=f"矩阵照料{county}", area_code=county, contract_no="M",
                     contract_from=today - timedelta(days=400), contract_to=today + timedelta(days=400),
                     townships=towns, hourly_rate=Decimal("30.00"), services=SERVICES, version=1)
    db.add(p)
    db.flush()
    giver = Caregiver(provider_id=p.id, area_code=village[:9], name="矩阵护理", version=1)
    db.add(giver)
    db.add(CareRecipient(person_id=person_id, household_id=household_id, area_code=village, provider_id=p.id,
                         provider_key=p.key, latitude=HOME[0], longitude=HOME[1], coords_source="township",
                         version=1))
    day = clock.today()  # the county's date, as in care_objects
    last = month_start(day) - timedelta(days=20)
    db.flush()

    def visit(day: date, hour: int, status: str) -> int:
        v = CareVisit(person_id=person_id, area_code=village, provider_id=p.id, provider_key=p.key,
                      caregiver_id=giver.id, service="meal", visit_date=day, planned_start=local_time(day, hour),
                      planned_end=local_time(day, hour + 1), planned_minutes=60, status=status, version=1)
        db.add(v)
        db.flush()
        return v.id

    return {"care_person": person_id, "care_giver": giver.id, "care_provider": p.id,
            "care_todo": visit(day, 8, "scheduled"), "care_flagged": visit(day, 6, "flagged"),
            "care_done": visit(last, 9, "verified"), "care_last_month": f"{last:%Y-%m}"}


def _visit(ctx: Ctx, t: Target, key: str) -> Any:
    from doudi.care.models import CareVisit

    ctx.session.expire_all()
    return ctx.session.get(CareVisit, t.extra[key])


def _exists(model_name: str, **where: Any) -> Any:
    def check(ctx: Ctx, t: Target) -> bool:
        from doudi.care import models

        ctx.session.expire_all()
        model = getattr(models, model_name)
        stmt = select(model.id)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == (v(ctx, t) if callable(v) else v))
        return ctx.session.scalar(stmt) is not None

    return check


def _marker(ctx: Ctx, t: Target) -> str:
    return f"矩阵评估{ctx.role[:6]}{t.scope}"


def _lat(ctx: Ctx, t: Target) -> float:
    return round(30 + zlib.crc32(f"{ctx.role}{t.scope}".encode()) % 10000 / 1000, 3)


def _at(hour: int) -> str:
    from doudi.care.rules import local_time

    return local_time(clock.today() + timedelta(days=1), hour).isoformat()


def _scheduled(ctx: Ctx, t: Target) -> bool:
    from doudi.care.models import CareVisit
    from doudi.care.rules import local_time

    ctx.session.expire_all()
    return ctx.session.scalar(select(CareVisit.id).where(
        CareVisit.person_id == t.extra["care_person"],
        CareVisit.planned_start == local_time(clock.today() + timedelta(days=1), 14))) is not None


def _xlsx_row(resp: Any, visit_id: int, area: str) -> bool:
    if resp.status_code != 200 or not resp.content.startswith(b"PK"):
        return False
    ws = load_workbook(io.BytesIO(resp.content), read_only=True).worksheets[0]
    return any(row and row[0] == visit_id and row[3] == area for row in ws.iter_rows(values_only=True))


def care_probes() -> list[Probe]:
    """Probes for care.* (care.report is raised through care.assess as well: see PENDING)."""
    return [
        Probe("care.read", "api", lambda c, t: c.api.get(f"/api/v1/care/visits?date={clock.today().isoformat()}"),
              leaked=lambda r, t: f'"id":{t.extra["care_todo"]},"person_id":{t.extra["care_person"]}' in r.text),
        Probe("care.export", "page",
              lambda c, t: c.page.get(f"/care/visits.xlsx?month={clock.today():%Y-%m}"),
              leaked=lambda r, t: _xlsx_row(r, t.extra["care_todo"], t.area_code)),
        Probe("care.record", "api",
              lambda c, t: c.api.post(f"/api/v1/care/visits/{t.extra['care_todo']}/check-in", json={
                  "key": f"matrix-{c.role}-{t.scope}", "latitude": HOME[0], "longitude": HOME[1]}),
              took_effect=lambda c, t: _visit(c, t, "care_todo").status == "in_progress"),
        Probe("care.schedule", "api",
              lambda c, t: c.api.post("/api/v1/care/visits", json={
                  "person_id": t.extra["care_person"], "caregiver_id": t.extra["care_giver"], "service": "cleaning",
                  "start": _at(14), "end": _at(15)}),
              took_effect=_scheduled),
        Probe("care.supervise", "api",
              lambda c, t: c.api.post(f"/api/v1/care/visits/{t.extra['care_flagged']}/review",
                                      json={"accept": True, "reason": "电话核实"}),
              took_effect=lambda c, t: _visit(c, t, "care_flagged").status == "accepted"),
        Probe("care.assess", "page",
              lambda c, t: c.page.post(f"/care/persons/{t.extra['care_person']}/assess", data={
                  "csrf_token": c.csrf, "assessed_on": clock.today().isoformat(), "assessor": "矩阵",
                  "evidence": _marker(c, t), "trigger": "yearly",
                  **{k: "yes" for k in ("eating", "dressing", "bed_transfer", "toileting", "indoor_walking",
                                         "bathing")}}),
              took_effect=_exists("CareAssessment", evidence=_marker)),
        Probe("care.settle", "page",
              lambda c, t: c.page.post("/care/settlements", data={"csrf_token": c.csrf,
                                                                  "month": t.extra["care_last_month"]}),
              took_effect=_exists("CareSettlement", provider_id=lambda c, t: t.extra["care_provider"])),
        Probe("care.manage", "page",
              lambda c, t: c.page.post(f"/care/persons/{t.extra['care_person']}/assign", data={
                  "csrf_token": c.csrf, "provider_id": str(t.extra["care_provider"]), "latitude": str(_lat(c, t)),
                  "longitude": str(HOME[1])}),
              took_effect=_exists("CareRecipient", person_id=lambda c, t: t.extra["care_person"], latitude=_lat)),
    ]
