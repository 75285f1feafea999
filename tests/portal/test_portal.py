"""The citizen portal: one-time-code sign-in, applying for oneself or by proxy, tracking, uploads, privacy."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.cases import applications
from doudi.cases.models import Case
from doudi.core.ids import build_id_number
from doudi.portal import otp
from tests.cases.world import make_world
from tests.factories import VILLAGE_A1, found

PHONE, OTHER = "13800138000", "13900139000"


def _sign_in(client, phone: str) -> str:  # type: ignore[no-untyped-def]
    assert client.post("/m/login/code", data={"phone": phone}, follow_redirects=False).status_code == 303
    code = next(c for p, c in reversed(otp.SENT) if p == phone)
    assert client.post("/m/login", data={"phone": phone, "code": code}, follow_redirects=False).status_code == 303
    return found(r'name="csrf_token" value="([^"]+)"', client.get("/m/apply").text)


def _form(csrf: str, seq: int, **extra: str) -> dict[str, str]:
    n = build_id_number("370784", date(1968, 4, 4), seq, "F")
    return {"csrf_token": csrf, "for_whom": "self", "applicant_name": "何秀兰", "applicant_id_number": n,
            "area_code": VILLAGE_A1, "hukou_type": "rural", "m0_name": "何秀兰", "m0_id_number": n,
            "m0_relation": "head", "m0_wage": "200", "m0_authorised": "on", **extra}


def test_sign_in_with_a_one_time_code(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_world(db)
    db.commit()
    assert client.get("/m/", follow_redirects=False).headers["location"] == "/m/login"
    assert client.post("/m/login/code", data={"phone": "12345"}).status_code == 422
    client.post("/m/login/code", data={"phone": PHONE})
    wrong = client.post("/m/login", data={"phone": PHONE, "code": "000000x"})
    assert wrong.status_code == 401 and "验证码不正确" in wrong.text
    _sign_in(client, PHONE)
    assert "我的申请" in client.get("/m/").text
    for _ in range(3):  # two codes sent so far; three more reach the limit of five an hour
        assert client.post("/m/login/code", data={"phone": PHONE}, follow_redirects=False).status_code == 303
    limited = client.post("/m/login/code", data={"phone": PHONE})
    assert limited.status_code == 422 and "频繁" in limited.text


def test_apply_for_oneself_and_follow_the_status(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    staff = make_world(db)
    db.commit()
    csrf = _sign_in(client, PHONE)
    missing = client.post("/m/apply", data={k: v for k, v in _form(csrf, 301).items() if k != "m0_authorised"})
    assert missing.status_code == 422 and "授权" in missing.text
    r = client.post("/m/apply", data=_form(csrf, 302), follow_redirects=False)
    assert r.status_code == 303
    case = db.scalars(select(Case).where(Case.portal_phone == PHONE)).one()
    assert (case.status, case.channel, case.applicant_phone) == ("submitted", "applicant", PHONE)
    assert "等待乡镇受理" in client.get(r.headers["location"]).text
    applications.accept(db, actor=staff.worker, case_id=case.id)
    db.commit()
    page = client.get(f"/m/cases/{case.id}").text
    assert "办理中" in page and "启动家庭经济状况调查" in page and 'id="m-vtracks"' in page
    up = client.post(f"/m/cases/{case.id}/documents", data={"csrf_token": csrf, "kind": "income_proof"},
                     files={"file": ("p.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")}, follow_redirects=False)
    assert up.status_code == 303 and "收入证明" in client.get(f"/m/cases/{case.id}").text


def test_a_friend_applies_on_someones_behalf(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_world(db)
    db.commit()
    csrf = _sign_in(client, PHONE)
    form = _form(csrf, 303, for_whom="other", proxy_name="邻居老张", proxy_relation="friend",
                 applicant_phone=OTHER)
    assert client.post("/m/apply", data=form, follow_redirects=False).status_code == 303
    case = db.scalars(select(Case).where(Case.portal_phone == PHONE)).one()
    assert (case.channel, case.proxy_name, case.proxy_relation, case.proxy_phone, case.applicant_phone) == (
        "proxy", "邻居老张", "friend", PHONE, OTHER)


def test_nobody_else_sees_my_case(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_world(db)
    db.commit()
    csrf = _sign_in(client, PHONE)
    client.post("/m/apply", data=_form(csrf, 304))
    case = db.scalars(select(Case).where(Case.portal_phone == PHONE)).one()
    client.cookies.clear()
    _sign_in(client, OTHER)
    assert client.get(f"/m/cases/{case.id}").status_code == 404
    assert case.case_no not in client.get("/m/").text
    assert client.post("/m/apply", data=_form("forged", 305)).status_code == 403  # CSRF


def test_codes_are_never_logged_outside_demo_mode(client, db: Session, app) -> None:  # type: ignore[no-untyped-def]
    app.state.settings = app.state.settings.model_copy(update={"demo": False})
    before = len(otp.SENT)
    r = client.post("/m/login/code", data={"phone": PHONE})
    assert r.status_code == 503 and "未配置" in r.text and len(otp.SENT) == before


def test_my_payments_show_own_household_only(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from doudi.payments.models import PaymentLine, PaymentRoll
    from tests.factories import make_household

    make_world(db)
    mine = make_household(db, VILLAGE_A1, head_name="何秀兰")
    mine.members[0].person.phone = PHONE
    other = make_household(db, VILLAGE_A1, head_name="别人家")
    roll = PaymentRoll(area_code="370784", month=date(2026, 1, 1), program="dibao", status="sent", version=1,
                       line_count=2, total_fen=53700 + 60000)
    db.add(roll)
    db.flush()
    for hh, fen, status, e2e in ((mine, 53700, "paid", "DDT-1"), (other, 60000, "paid", "DDT-2")):
        db.add(PaymentLine(roll_id=roll.id, payee_key=f"H{hh.id}", program="dibao", component="basic",
                           covers="basic", entitlement_month=date(2026, 1, 1), amount_fen=fen, area_code=VILLAGE_A1,
                           household_id=hh.id, payee_name="x", bank_name="安丘农商银行",
                           account_no="6230123456789012", end_to_end_id=e2e, status=status, rule=str(Decimal(1))))
    db.commit()
    assert client.get("/m/payments", follow_redirects=False).headers["location"] == "/m/login"
    _sign_in(client, PHONE)
    page = client.get("/m/payments")
    # Only the citizen's own household: 537.00 paid; the other family's 600.00 is not shown; account masked.
    assert page.status_code == 200 and 'id="paid-total">537.00<' in page.text and "已到账" in page.text
    assert "600.00" not in page.text and "6230123456789012" not in page.text and "6230********9012" in page.text
    client.cookies.clear()
    _sign_in(client, OTHER)
    assert "暂无发放记录" in client.get("/m/payments").text
