"""Decisions consistent with the engine's assessment (issue 15 item 1), on SQLite and PostgreSQL.

A 安丘 rural single-person household declaring a wage of 3,000 yuan/month is above the 537-yuan 低保 standard
even after the 200-yuan employment-cost deduction (2,800 > 537), so the engine finds 低保 不符合. A household of
two declaring a 300-yuan wage computes to (537 − (300 − 200) / 2) × 2 = 974 yuan/month (see test_lifecycle).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any, cast

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.audit.models import AuditEntry
from doudi.cases import decisions, steps
from doudi.cases.models import Enrollment, Notice
from doudi.core.errors import Conflict, ValidationFailed
from doudi.core.ids import build_id_number
from tests.cases.world import apply, make_world, member
from tests.factories import PASSWORD

REASON = "家中失火，存款已全部用于救治，车辆已报废待注销"


def _found(pattern: str, text: str) -> str:
    """The first group of `pattern` in `text` (the test fails when it is missing)."""
    m = re.search(pattern, text)
    assert m is not None, pattern
    return str(m.group(1))


def _id(year: int, seq: int, sex: str = "M") -> str:
    return build_id_number("370784", date(year, 3, 1), seq, sex)


def _act(db: Session, actor, case, key: str, today: date, action: str = "complete", **data):  # type: ignore[no-untyped-def]
    return steps.act(db, actor=actor, case_id=case.id, step_key=key, action=action, data=data,
                     version=case.version, today=today)


def _to_first_review(db: Session, staff, case) -> None:  # type: ignore[no-untyped-def]
    _act(db, staff.worker, case, "investigation_start", date(2026, 11, 3))
    _act(db, staff.worker, case, "home_visit", date(2026, 11, 4), investigators=["甲", "乙"], findings="属实")
    _act(db, staff.verifier, case, "verification", date(2026, 11, 5), conclusion="consistent")


def _ineligible(db: Session, staff):  # type: ignore[no-untyped-def]
    case = apply(db, staff.worker, on=date(2026, 11, 2), programs=["dibao"],
                 members=[member("高收入", _id(1976, 31), "head", "3000", employment="employed")])
    assert cast(Any, case.proposed)["programs"]["dibao"]["eligible"] is False
    return case


def _errors(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e.field: e.message for e in exc.value.errors}


def test_approving_against_the_engine_needs_a_reason_and_the_county(db: Session) -> None:
    staff = make_world(db)
    case = _ineligible(db, staff)
    _to_first_review(db, staff, case)
    approve = {"decision": "approve", "monthly_amount": "500"}
    with pytest.raises(ValidationFailed) as exc:  # no reason: refused, and the engine's reasons are quoted
        _act(db, staff.worker, case, "first_review", date(2026, 11, 6), opinions={"dibao": approve})
    assert set(_errors(exc)) == {"opinions.dibao.override_reason"}
    assert "不符合" in _errors(exc)["opinions.dibao.override_reason"]
    with pytest.raises(ValidationFailed) as exc:  # nor at zero yuan
        _act(db, staff.worker, case, "first_review", date(2026, 11, 6),
             opinions={"dibao": {**approve, "monthly_amount": "0", "override_reason": REASON}})
    assert set(_errors(exc)) == {"opinions.dibao.monthly_amount"}
    opinion = {"dibao": {**approve, "override_reason": REASON}}
    _act(db, staff.worker, case, "first_review", date(2026, 11, 6), opinions=opinion)
    # 安丘 delegates confirmation to the township, but an override needs the pack's level: the county.
    with pytest.raises(ValidationFailed) as exc:
        _act(db, staff.approver, case, "confirmation", date(2026, 11, 9), opinions=opinion)
    assert set(_errors(exc)) == {"opinions.dibao.decision"} and "县级" in _errors(exc)["opinions.dibao.decision"]
    _act(db, staff.county, case, "confirmation", date(2026, 11, 9), opinions=opinion)
    row = next(d for d in case.decisions if d.program == "dibao")
    assert (row.outcome, row.monthly_amount, row.override_level, row.override_reason) == (
        "approved", Decimal("500.00"), "county", REASON)
    _act(db, staff.approver, case, "decision", date(2026, 11, 10))

    notice = db.scalars(select(Notice).where(Notice.case_id == case.id, Notice.kind == "approval")).one()
    item = notice.content["items"][0]  # type: ignore[index]
    assert item["override"] == {"program": "dibao", "level": "county", "level_label": "县级民政部门", "reason": REASON}
    entries = db.scalars(select(AuditEntry).where(AuditEntry.object_type == "case",
                                                  AuditEntry.object_id == str(case.id))).all()
    marked = {e.action for e in entries if "overrides" in e.changes or "override" in e.changes}
    assert marked == {"case.step.first_review", "case.step.confirmation", "enrollment.create"}
    enrollment = db.scalars(select(Enrollment).where(Enrollment.origin_case_id == case.id)).one()
    assert enrollment.monthly_amount == Decimal("500.00")


def test_zero_or_negative_approvals_are_refused(db: Session) -> None:
    staff = make_world(db)
    case = apply(db, staff.worker, on=date(2026, 11, 2), members=[
        member("王大山", _id(1976, 41), "head", "300", employment="farming"), member("李小梅", _id(1979, 42, "F"),
                                                                                  "spouse")])
    assert cast(Any, case.proposed)["programs"]["dibao"]["monthly_amount"] == 974.0
    _to_first_review(db, staff, case)
    others = {p: {"decision": "reject", "reasons": "不适用"} for p in case.programs if p != "dibao"}
    for amount, field in (("0", "opinions.dibao.monthly_amount"), ("-50", "opinions.dibao.monthly_amount")):
        with pytest.raises(ValidationFailed) as exc:
            _act(db, staff.worker, case, "first_review", date(2026, 11, 6),
                 opinions={"dibao": {"decision": "approve", "monthly_amount": amount}, **others})
        assert set(_errors(exc)) == {field}
    opinion = {"dibao": {"decision": "approve", "monthly_amount": "974"}, **others}
    _act(db, staff.worker, case, "first_review", date(2026, 11, 6), opinions=opinion)
    with pytest.raises(ValidationFailed) as exc:
        _act(db, staff.approver, case, "confirmation", date(2026, 11, 9),
             opinions={**opinion, "dibao": {"decision": "approve", "monthly_amount": "0"}})
    assert set(_errors(exc)) == {"opinions.dibao.monthly_amount"}
    _act(db, staff.approver, case, "confirmation", date(2026, 11, 9), opinions=opinion)  # agrees: no override needed
    row = next(d for d in case.decisions if d.program == "dibao")
    assert (row.outcome, row.monthly_amount, row.override_level) == ("approved", Decimal("974.00"), "")


def test_the_decision_refuses_an_unexplained_approval_against_the_engine(db: Session) -> None:
    """A decision row approved some other way (an older version, a direct edit) cannot become an enrollment."""
    staff = make_world(db)
    case = _ineligible(db, staff)
    row = next(d for d in case.decisions if d.program == "dibao")
    row.outcome, row.monthly_amount, row.decided_on = "approved", Decimal("300"), date(2026, 11, 9)
    with pytest.raises(Conflict, match="不符合"):
        decisions.issue_decision(db, actor=staff.approver, case=case, today=date(2026, 11, 10))
    row.override_level, row.override_reason, row.monthly_amount = "county", REASON, Decimal("0")
    with pytest.raises(ValidationFailed):
        decisions.issue_decision(db, actor=staff.approver, case=case, today=date(2026, 11, 10))
    assert db.scalars(select(Enrollment).where(Enrollment.origin_case_id == case.id)).all() == []


def test_the_form_starts_from_the_engines_no(client, db: Session) -> None:  # type: ignore[no-untyped-def]
    staff = make_world(db)
    case = _ineligible(db, staff)
    _to_first_review(db, staff, case)
    db.commit()
    page = client.get("/login")
    token = _found(r'name="csrf_token" value="([^"]+)"', page.text)
    client.post("/login", data={"username": "worker1", "password": PASSWORD, "csrf_token": token})
    html = client.get(f"/cases/{case.id}").text
    assert re.search(r'name="op\.dibao\.decision" value="reject" checked', html)
    assert not re.search(r'name="op\.dibao\.decision" value="approve" checked', html)
    reasons = "；".join(r["text"] for r in cast(Any, case.proposed)["programs"]["dibao"]["reasons"])
    assert f'name="op.dibao.reasons" value="{reasons}"' in html
    assert 'name="op.dibao.override_reason"' in html
