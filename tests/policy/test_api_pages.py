"""The evaluation API, the policy console pages and the household panel, against the real app."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy.orm import Session

from tests.factories import PASSWORD, TOWN_A, VILLAGE_A1, make_areas, make_household, make_user

BODY = {
    "date": "2024-06-01",
    "area_code": VILLAGE_A1,
    "hukou_type": "rural",
    "has_capable_supporter": True,
    "members": [
        {"relation": "head", "birth_date": "1980-01-01", "disability": None, "serious_illness": False,
         "self_care_unable_items": 0, "student": False, "child_status": None,
         "monthly_income": {"wage": 900, "business": 0, "property": 0, "transfer": 0, "basic_pension": 0}},
        {"relation": "spouse", "birth_date": "1982-03-01"},
        {"relation": "child", "birth_date": "2015-09-01", "student": True},
    ],
    "assets": {"financial_assets": 0, "residential_properties": 1, "non_residential_properties": 0, "vehicles": 0,
               "business_registrations": 0},
    "rigid_expenses_12m": {"medical": 0, "education": 0, "rehabilitation": 0},
    "temporary_need": {"kind": "emergency", "amount": 800},
}


def _token(client, username: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    resp = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def _login(client, username: str) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})


def test_evaluation_requires_a_bearer_token(client) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/v1/evaluations", json=BODY).status_code == 401


def test_evaluation_returns_every_program(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "town1", ["township_caseworker"], TOWN_A)
    db.commit()
    resp = client.post("/api/v1/evaluations", json=BODY, headers=_token(client, "town1"))
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert list(data["programs"]) == ["dibao", "dibao_marginal", "extreme_poverty", "rigid_expense_hardship",
                                      "temporary_assistance", "child_welfare", "disability_subsidies",
                                      "relative_poverty"]
    # (900 − 200) / 3 = 233.33 < 537 → 537 × 3 − 700 = 911, + minor 0.1 × 537 = 53.7 → 964.70.
    dibao = data["programs"]["dibao"]
    assert dibao["eligible"] is True and dibao["monthly_amount"] == 964.7
    assert any("第十三条" in ref for r in dibao["reasons"] for ref in r["refs"])
    assert dibao["trace"]["per_capita_income"] == 233.33
    temp = data["programs"]["temporary_assistance"]
    assert (temp["approval_level"], temp["deadline_hours"], temp["monthly_amount"]) == ("township", 24, 800)
    assert data["pack"]["region"] == "370784" and data["pack"]["provisional_parameters"]


def test_bad_body_lists_every_field_error(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "town1", ["township_caseworker"], TOWN_A)
    db.commit()
    bad = {**BODY, "hukou_type": "city", "members": [{"relation": "boss", "birth_date": "yesterday",
                                                      "self_care_unable_items": 7}]}
    del bad["date"]
    resp = client.post("/api/v1/evaluations", json=bad, headers=_token(client, "town1"))
    assert resp.status_code == 422
    fields = {e["field"] for e in resp.json()["errors"]}
    assert {"date", "hukou_type", "members.0.relation", "members.0.birth_date",
            "members.0.self_care_unable_items"} <= fields


def test_evaluation_outside_the_area_or_without_permission_is_refused(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "town1", ["township_caseworker"], TOWN_A)
    make_user(db, "carer", ["care_provider"], TOWN_A)
    db.commit()
    other = {**BODY, "area_code": "370784002001"}
    assert client.post("/api/v1/evaluations", json=other, headers=_token(client, "town1")).status_code == 403
    assert client.post("/api/v1/evaluations", json=BODY, headers=_token(client, "carer")).status_code == 403


def test_registry_household_evaluation_api(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "town1", ["township_caseworker"], TOWN_A)
    hh = make_household(db, VILLAGE_A1, hukou="rural")
    db.commit()
    resp = client.get(f"/api/v1/households/{hh.id}/evaluation?date=2024-06-01", headers=_token(client, "town1"))
    assert resp.status_code == 200
    # A 54-year-old alone with no recorded income: 537 × 1 − 0 = 537.
    assert resp.json()["programs"]["dibao"]["monthly_amount"] == 537.0
    assert client.get("/api/v1/households/999999/evaluation", headers=_token(client, "town1")).status_code == 404


def test_openapi_documents_the_contract(client) -> None:  # type: ignore[no-untyped-def]
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/evaluations" in schema["paths"]
    assert {"EvaluationRequest", "EvaluationResult", "ProgramDecision", "MemberDecision"} <= set(
        schema["components"]["schemas"])


def test_parameters_page_flags_provisional_values(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "county1", ["county_officer"], "370784")
    db.commit()
    _login(client, "county1")
    page = client.get("/policy?date=2024-01-01")
    assert page.status_code == 200
    assert "dibao.standard.rural" in page.text and ">537<" in page.text
    assert "待确认" in page.text and 'id="provisional-warning"' in page.text
    assert 'href="/policy/simulate"' in page.text  # nav entry


def test_simulate_page(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "county1", ["county_officer"], "370784")
    make_user(db, "town1", ["township_caseworker"], TOWN_A)
    make_household(db, VILLAGE_A1, hukou="rural")  # one person, no income: 537 today
    db.commit()
    _login(client, "county1")
    form = client.get("/policy/simulate")
    assert form.status_code == 200 and "dibao.standard.rural" in form.text and "待确认" in form.text
    result = client.get("/policy/simulate", params={"key": "dibao.standard.rural", "value": "600",
                                                     "date": date(2024, 6, 1).isoformat()})
    assert result.status_code == 200
    # Still one 低保 household; its benefit rises from 537 to 600: +63.00.
    assert 'id="by-program"' in result.text and "+63.00" in result.text
    client.cookies.clear()
    _login(client, "town1")
    assert client.get("/policy/simulate").status_code == 403


def test_household_page_shows_the_evaluation_panel(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_areas(db)
    make_user(db, "town1", ["township_caseworker"], TOWN_A)
    hh = make_household(db, VILLAGE_A1, hukou="rural")
    db.commit()
    _login(client, "town1")
    page = client.get(f"/households/{hh.id}")
    assert page.status_code == 200
    assert 'id="evaluation"' in page.text and "最低生活保障" in page.text and "审核确认办法" in page.text
