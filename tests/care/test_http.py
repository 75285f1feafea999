"""Care through HTTP on both backends: the mobile check-in API (idempotent, scoped to the caregiver and
provider), area scoping of pages, the dashboard and the Excel ledgers."""

from __future__ import annotations

import io
import re
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.care import visits
from doudi.care.rules import local_time
from tests.care.world import HOME_A, build
from tests.factories import PASSWORD, TOWN_A, TOWN_B, make_user

DAY = date(2026, 3, 2)


def _token(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    t = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {t['access_token']}"}


def _login(client, username: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    home = client.get("/care/persons")
    found = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    return found.group(1) if found else ""


def _world(db: Session):  # type: ignore[no-untyped-def]
    w = build(db)
    carer = make_user(db, "carer1", ["care_provider"], TOWN_A, org="ankang_care")
    make_user(db, "carer2", ["care_provider"], TOWN_A, org="ankang_care")
    make_user(db, "jz_carer", ["care_provider"], TOWN_B, org="jingzhi_care")
    make_user(db, "tw_b", ["township_caseworker"], TOWN_B)
    make_user(db, "county1", ["county_officer"], "370784")
    w.giver.user_id = carer.id
    from sqlalchemy import select

    from doudi.auth.models import User

    w.giver2.user_id = db.scalar(select(User.id).where(User.username == "carer2"))
    mine = visits.schedule_visit(db, actor=w.sys, person_id=w.person.id, caregiver_id=w.giver.id, service="meal",
                                 start=local_time(DAY, 9), end=local_time(DAY, 11))
    theirs = visits.schedule_visit(db, actor=w.sys, person_id=w.person.id, caregiver_id=w.giver2.id,
                                   service="cleaning", start=local_time(DAY, 14), end=local_time(DAY, 15))
    db.flush()
    return w, mine, theirs


def _iso(hour: int, minute: int = 0) -> str:
    return local_time(DAY, hour, minute).isoformat()


def test_mobile_check_in_api_is_idempotent_and_scoped(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    w, mine, theirs = _world(db)
    h = _token(client, "carer1")
    listed = client.get("/api/v1/care/visits?date=2026-03-02", headers=h).json()
    assert [v["id"] for v in listed] == [mine.id]  # a caregiver's account lists its own visits only
    body = {"key": "phone-0001-abcd", "at": _iso(9, 2), "latitude": HOME_A[0], "longitude": HOME_A[1]}
    first = client.post(f"/api/v1/care/visits/{mine.id}/check-in", json=body, headers=h)
    again = client.post(f"/api/v1/care/visits/{mine.id}/check-in", json={**body, "at": _iso(9, 4)}, headers=h)
    assert first.status_code == again.status_code == 200
    assert first.json()["check_in_at"] == again.json()["check_in_at"] and again.json()["status"] == "in_progress"
    early = client.post(f"/api/v1/care/visits/{mine.id}/check-out", headers=h,
                        json={"key": "phone-0002-abcd", "at": _iso(8, 30), "latitude": HOME_A[0],
                              "longitude": HOME_A[1]})
    assert early.status_code == 422 and "签退时间不能早于" in early.text
    out = client.post(f"/api/v1/care/visits/{mine.id}/check-out", headers=h,
                      json={"key": "phone-0003-abcd", "at": _iso(10, 50), "latitude": HOME_A[0],
                            "longitude": HOME_A[1], "services_done": ["meal"], "note": "已送餐"})
    assert out.status_code == 200
    assert (out.json()["status"], out.json()["minutes"], out.json()["counted_minutes"]) == ("verified", 108, 105)
    # Another caregiver of the same provider cannot record this caregiver's visit; nor can another provider.
    wrong = client.post(f"/api/v1/care/visits/{theirs.id}/check-in", headers=h,
                        json={"key": "phone-0004-abcd", "at": _iso(14)})
    assert wrong.status_code == 422 and "不是您本人" in wrong.text
    other = client.post(f"/api/v1/care/visits/{theirs.id}/check-in", headers=_token(client, "jz_carer"),
                        json={"key": "phone-0005-abcd", "at": _iso(14)})
    assert other.status_code == 404
    bad = client.post(f"/api/v1/care/visits/{theirs.id}/check-in", headers=h, json={"key": "short"})
    assert bad.status_code == 422  # no idempotency key worth the name
    del w


def test_pages_are_scoped_and_ledgers_export(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    w, mine, _ = _world(db)
    visits.check_in(db, actor=w.sys, visit_id=mine.id, at=local_time(DAY, 9), latitude=None, longitude=None,
                    key="page-test-in")
    visits.check_out(db, actor=w.sys, visit_id=mine.id, at=local_time(DAY, 10), latitude=None, longitude=None,
                     key="page-test-out", services_done=["meal"])
    db.flush()
    _login(client, "tw_b")  # 景芝镇 staff: 新安街道's person and visits do not exist for them
    assert client.get(f"/care/persons/{w.person.id}").status_code == 404
    assert "孙老汉" not in client.get("/care/visits?month=2026-03").text
    client.post("/logout", data={"csrf_token": _login(client, "tw_b")})
    client.cookies.clear()
    csrf = _login(client, "county1")
    dash = client.get("/care?month=2026-03")
    assert dash.status_code == 200 and "智慧养老指挥中心" in dash.text and "data-echarts" in dash.text
    assert "cdn" not in dash.text.lower()
    flagged = client.get("/care/visits?status=flagged&month=2026-03")
    assert "孙老汉" in flagged.text and "签到或签退未提供定位" in flagged.text
    persons = client.get("/care/persons?month=2026-03&q=孙老汉")
    assert "孙老汉" in persons.text and w.person.id_number not in persons.text  # ID numbers masked in lists
    xlsx = client.get("/care/visits.xlsx?month=2026-03")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "编号" and any(r[14] == "待人工核实" for r in values[1:])
    assert all(r[2] != "孙老汉" for r in values[1:])  # names masked in the export
    from sqlalchemy import select

    from doudi.registry.models import Membership

    hh = db.scalar(select(Membership.household_id).where(Membership.person_id == w.person.id))
    panel = client.get(f"/households/{hh}")  # the assistance chain shows the care entitlement and visits
    assert "居家照料" in panel.text and "care-panel-visits" in panel.text and "待人工核实" in panel.text
    r = client.post(f"/care/visits/{mine.id}/review", data={"csrf_token": csrf, "version": mine.version,
                                                             "decision": "accept", "reason": "电话核实属实"},
                    follow_redirects=False)
    assert r.status_code == 303
    empty = client.post(f"/care/visits/{mine.id}/review", data={"csrf_token": csrf, "version": mine.version,
                                                                 "decision": "accept", "reason": ""})
    assert empty.status_code in (409, 422) and "服务器内部错误" not in empty.text


def test_console_forms_assess_reassess_feedback_and_settle(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    w, mine, _ = _world(db)
    csrf = _login(client, "county1")
    page = client.get(f"/care/persons/{w.person.id}")
    assert page.status_code == 200 and "自主如厕" in page.text and "半自理" in page.text
    form = {"csrf_token": csrf, "assessed_on": "2026-03-15", "trigger": "monitoring", "assessor": "李审核",
            "evidence": "出院小结", **{k: "no" for k in ("eating", "dressing", "bed_transfer", "toileting")},
            "indoor_walking": "yes", "bathing": "yes"}
    assert client.post(f"/care/persons/{w.person.id}/assess", data=form, follow_redirects=False).status_code == 303
    after = client.get(f"/care/persons/{w.person.id}").text
    assert "不能自理" in after and "由半自理变更" in after and "2026-04" in after  # 4 items not met: full from April
    missing = client.post(f"/care/persons/{w.person.id}/assess", data={"csrf_token": csrf, "assessed_on": "x"})
    assert missing.status_code == 422 and "评估日期格式" in missing.text
    r = client.post(f"/care/persons/{w.person.id}/reassess", data={"csrf_token": csrf, "trigger": "monitoring",
                                                                   "reason": "住院"}, follow_redirects=False)
    assert r.status_code == 303
    r = client.post(f"/care/persons/{w.person.id}/feedback", data={"csrf_token": csrf, "kind": "complaint",
                                                                   "content": "护理员迟到"}, follow_redirects=False)
    assert r.status_code == 303
    bad = client.post(f"/care/persons/{w.person.id}/feedback", data={"csrf_token": csrf, "kind": "return_visit",
                                                                     "content": "回访"})
    assert bad.status_code == 422 and "满意度" in bad.text
    complaints = client.get("/care/feedback?status=open")
    assert "护理员迟到" in complaints.text
    from doudi.care.models import CareFeedback

    fb = db.scalars(select(CareFeedback)).one()
    r = client.post(f"/care/feedback/{fb.id}/close", data={"csrf_token": csrf, "version": fb.version,
                                                           "resolution": "已约谈机构"}, follow_redirects=False)
    assert r.status_code == 303 and "已约谈机构" in client.get("/care/feedback").text
    assert "安康养老服务中心" in client.get("/care/providers").text
    visits.check_in(db, actor=w.sys, visit_id=mine.id, at=local_time(DAY, 9), latitude=HOME_A[0],
                    longitude=HOME_A[1], key="form-test-in")
    visits.check_out(db, actor=w.sys, visit_id=mine.id, at=local_time(DAY, 11), latitude=HOME_A[0],
                     longitude=HOME_A[1], key="form-test-out", services_done=["meal"])
    db.flush()
    settled = client.post("/care/settlements", data={"csrf_token": csrf, "month": "2026-03"})
    assert settled.status_code == 200 and "新生成结算单" in settled.text and "73.00" in settled.text  # 2 h × 36.50
    sheet = client.get("/care/settlements.xlsx?month=2026-03")
    assert sheet.status_code == 200 and len(sheet.content) > 1000
    inbox = client.get("/inbox")
    assert "自理能力复核评估" in inbox.text
