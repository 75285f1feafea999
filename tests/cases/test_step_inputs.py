"""Typed step input: every step's model in the API docs, and typed fields refused with a Chinese message."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from doudi.cases import steps
from doudi.cases.steps.confirmation import ConfirmationIn
from doudi.cases.steps.home_visit import HomeVisitIn
from doudi.core.errors import ValidationFailed
from tests.cases.test_http import _application, _token
from tests.cases.world import make_world


def test_every_step_model_is_in_the_openapi_docs(client) -> None:  # type: ignore[no-untyped-def]
    doc: dict[str, Any] = client.get("/api/v1/openapi.json").json()
    schemas = doc["components"]["schemas"]
    expected = {"investigation_start", "home_visit", "county_visit", "verification", "first_review", "publicity",
                "democratic_review", "confirmation", "spot_check", "collective_decision", "decision",
                "emergency_grant", "payment"}
    assert set(steps.STEPS) == expected
    for key, step in steps.STEPS.items():
        name = step.model.__name__
        assert name in schemas, name
        body = doc["paths"][f"/api/v1/cases/{{case_id}}/steps/{key}"]["post"]["requestBody"]
        ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert schemas[ref]["properties"]["data"]["$ref"].endswith(f"/{name}")
    assert set(schemas["HomeVisitIn"]["properties"]) == {"investigators", "investigator_ids", "mode", "visit_on",
                                                         "findings", "emergency"}
    opinion = schemas["ConfirmationIn"]["properties"]["opinions"]
    assert opinion["additionalProperties"]["$ref"].endswith("/Opinion")
    assert "dibao" in opinion["propertyNames"]["enum"]


def test_form_values_parse_into_the_step_model() -> None:
    visit = steps.parse_input("home_visit", {"investigators": ["甲", "乙"], "investigator_ids": ["3", "4"],
                                              "visit_on": "", "findings": "属实"})
    assert isinstance(visit, HomeVisitIn)
    assert visit.investigator_ids == [3, 4] and visit.visit_on is None and visit.mode == "onsite"
    confirm = steps.parse_input("confirmation", {"opinions": {"dibao": {"decision": "approve",
                                                                         "monthly_amount": "350.5"}}})
    assert isinstance(confirm, ConfirmationIn)
    assert confirm.opinions["dibao"].monthly_amount == Decimal("350.5")


def test_badly_typed_step_input_names_the_field_in_chinese() -> None:
    with pytest.raises(ValidationFailed) as bad:
        steps.parse_input("confirmation", {"opinions": {"dibao": {"decision": "approve", "monthly_amount": "三百"}}})
    assert [(e.field, e.message) for e in bad.value.errors] == [("opinions.dibao.monthly_amount", "金额格式不正确")]
    with pytest.raises(ValidationFailed) as bad:
        steps.parse_input("home_visit", {"visit_on": "2026-13-01"})
    assert [(e.field, e.message) for e in bad.value.errors] == [("visit_on", "应为 YYYY-MM-DD 日期")]


def test_api_refuses_a_badly_typed_step_body(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    make_world(db)
    db.commit()
    h = _token(client, "worker1")
    case = client.post("/api/v1/cases?accept=true", headers=h, json=_application(231)).json()
    r = client.post(f"/api/v1/cases/{case['id']}/steps/investigation_start", headers=h,
                    json={"version": case["version"], "action": "complete",
                          "data": {"planned_visit_on": date(2026, 11, 2).isoformat(), "investigator_ids": ["x"]}})
    assert r.status_code == 422
    assert {"field": "data.investigator_ids.0", "message": "应为整数"} in r.json()["errors"]
    ok = client.post(f"/api/v1/cases/{case['id']}/steps/investigation_start", headers=h,
                     json={"version": case["version"], "action": "complete",
                           "data": {"planned_visit_on": "2026-11-02"}})
    assert ok.status_code == 200 and ok.json()["active_step"] == "home_visit"
