"""The case workflow over HTTP: API (bearer), console pages (session + CSRF), uploads, notices, Excel."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any, cast

from openpyxl import load_workbook
from sqlalchemy.orm import Session

from doudi.core import clock
from doudi.core.ids import build_id_number
from tests.cases.world import apply, make_world, member
from tests.factories import PASSWORD, VILLAGE_A1, VILLAGE_B1
from tests.pdf import pdf_text

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _found(pattern: str, text: str) -> str:
    """The first group of `pattern` in `text` (the test fails when it is missing)."""
    m = re.search(pattern, text)
    assert m is not None, pattern
    return str(m.group(1))


def _token(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    t = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {t['access_token']}"}


def _login(client, username: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = _found(r'name="csrf_token" value="([^"]+)"', page.text)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    return _found(r'data-csrf="([^"]+)"', client.get("/").text)


def _application(seq: int, area: str = VILLAGE_A1) -> dict[str, object]:
    n = build_id_number("370784", date(1970, 1, 1), seq, "M")
    return {"area_code": area, "hukou_type": "rural", "applicant_name": "马申请", "applicant_id_number": n,
            "members": [{"name": "马申请", "id_number": n, "relation": "head", "authorised": True,
                         "monthly_income": {"wage": "100"}}]}


def test_api_submit_accept_and_act(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_world(db)
    db.commit()
    assert client.post("/api/v1/cases", json=_application(201)).status_code == 401
    h = _token(client, "worker1")
    bad = client.post("/api/v1/cases", headers=h, json={**_application(202), "hukou_type": "x", "members": []})
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} >= {"hukou_type"}
    r = client.post("/api/v1/cases?accept=true", headers=h, json=_application(203))
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "open" and case["active_step"] == "investigation_start" and case["delegated"]
    stale = client.post(f"/api/v1/cases/{case['id']}/steps/investigation_start", headers=h,
                        json={"version": case["version"] - 1, "action": "complete", "data": {}})
    assert stale.status_code == 409
    ok = client.post(f"/api/v1/cases/{case['id']}/steps/investigation_start", headers=h,
                     json={"version": case["version"], "action": "complete", "data": {}})
    assert ok.status_code == 200 and ok.json()["active_step"] == "home_visit"
    wrong = client.post(f"/api/v1/cases/{case['id']}/steps/first_review", headers=h,
                        json={"version": ok.json()["version"], "action": "complete", "data": {}})
    assert wrong.status_code == 409 and "当前环节" in wrong.json()["detail"]
    inbox = client.get("/api/v1/inbox", headers=h).json()
    assert inbox["items"][0]["case_no"] == case["case_no"]


def test_other_township_cannot_see_the_case(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    staff = make_world(db)
    from tests.factories import make_user

    make_user(db, "b_worker", ["township_caseworker"], "370784002")
    case = apply(db, staff.worker, on=clock.today(), members=[member("隔壁", build_id_number(
        "370784", date(1971, 1, 1), 204, "M"), "head", "100")])
    db.commit()
    h = _token(client, "b_worker")
    assert client.get(f"/api/v1/cases/{case.id}", headers=h).status_code == 404
    assert case.case_no not in client.get("/api/v1/cases", headers=h).text
    r = client.post("/api/v1/cases", headers=h, json=_application(205, VILLAGE_A1))
    assert r.status_code == 422  # cannot file into another township's village
    assert client.post("/api/v1/cases", headers=h, json=_application(206, VILLAGE_B1)).status_code == 201


def test_console_pages_documents_notice_and_excel(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    staff = make_world(db)
    case = apply(db, staff.worker, on=date(2026, 11, 2), members=[member("页面", build_id_number(
        "370784", date(1972, 1, 1), 207, "M"), "head", "100")])
    for key, actor, data in [
        ("investigation_start", staff.worker, {}),
        ("home_visit", staff.worker, {"investigators": ["甲", "乙"], "findings": "x"}),
        ("verification", staff.verifier, {"conclusion": "consistent"}),
        ("first_review", staff.worker, {"opinions": {"dibao": {"decision": "approve", "monthly_amount": "437"}}}),
    ]:
        from doudi.cases import steps

        steps.act(db, actor=actor, case_id=case.id, step_key=key, action="complete", data=cast(dict[str, Any], data),
                  version=case.version, today=date(2026, 11, 5))
    db.commit()
    csrf = _login(client, "worker1")
    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 200 and "审核确认" in page.text and "信息核对进度" in page.text
    assert client.get("/inbox").status_code == 200
    assert case.case_no in client.get("/cases?status=open").text
    bad = client.post(f"/cases/{case.id}/documents", data={"csrf_token": csrf, "kind": "id_card"},
                      files={"file": ("x.exe", b"MZ\x90\x00", "application/octet-stream")})
    assert bad.status_code == 422 and "PDF、PNG 或 JPEG" in bad.text
    ok = client.post(f"/cases/{case.id}/documents", data={"csrf_token": csrf, "kind": "id_card"},
                     files={"file": ("id.png", PNG, "image/png")}, follow_redirects=False)
    assert ok.status_code == 303
    doc_id = _found(r'href="/documents/(\d+)"', client.get(f"/cases/{case.id}").text)
    assert client.get(f"/documents/{doc_id}").content == PNG
    xlsx = client.get("/cases/export.xlsx?status=open")
    assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert ws["A1"].value == "案件编号" and ws["A2"].value == case.case_no and ws["G2"].value == "审核确认"
    # The approver confirms and decides through the console forms.
    client.cookies.clear()
    csrf = _login(client, "approver1")
    form = {"csrf_token": csrf, "action": "complete", "op.dibao.decision": "approve",
            "op.dibao.monthly_amount": "437"}
    version = _found(r'name="version" value="(\d+)"', client.get(f"/cases/{case.id}").text)
    r = client.post(f"/cases/{case.id}/steps/confirmation", data={**form, "version": version}, follow_redirects=False)
    assert r.status_code == 303, r.text
    version = _found(r'name="version" value="(\d+)"', client.get(f"/cases/{case.id}").text)
    r = client.post(f"/cases/{case.id}/steps/decision", data={"csrf_token": csrf, "version": version,
                                                              "action": "complete"}, follow_redirects=False)
    assert r.status_code == 303
    detail = client.get(f"/cases/{case.id}").text
    notice_id = _found(r'href="/notices/(\d+)\.pdf"', detail)
    pdf = client.get(f"/notices/{notice_id}.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and "437.00" in pdf_text(pdf.content)
