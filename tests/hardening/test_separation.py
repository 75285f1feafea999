"""Separation of duties (issue 14 item 9): the user who accepted a case cannot confirm it; the approver of a
temporary grant cannot pay it; a village assistant cannot withdraw a case once it has left the village."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from doudi.auth import service as auth
from doudi.auth.permissions import Actor, system_actor
from doudi.cases import applications, steps
from doudi.cases.models import Case, CaseStatus
from doudi.cases.schemas import ApplicationCreate
from doudi.cases.service import active_step
from doudi.core.errors import PermissionDenied
from doudi.core.ids import build_id_number
from doudi.policy.params import load_pack
from tests.cases.world import apply, follow_engine, make_world, member
from tests.factories import VILLAGE_A1, make_user

ON = date(2026, 3, 2)
SYSTEM = system_actor(name="test-separation")


def _act(db: Session, actor: Actor, case: Case, key: str, data: dict[str, Any]) -> None:
    steps.act(db, actor=actor, case_id=case.id, step_key=key, action="complete", data=data, version=case.version,
              today=ON)


def _to_confirmation(db: Session, case: Case) -> None:
    while (step := active_step(case)) is not None and step.key != "confirmation":
        table: dict[str, dict[str, Any]] = {"home_visit": {"investigators": ["甲", "乙"], "findings": "入户核实"},
                                            "verification": {"conclusion": "consistent"},
                                            "first_review": follow_engine(case)}
        _act(db, SYSTEM, case, step.key, table.get(step.key, {}))


def test_parameters_are_provisional_and_on() -> None:
    pack = load_pack("370784")
    for key in ("procedure.separation.acceptance_confirmation", "procedure.separation.grant_payment"):
        assert pack.value(key, on=ON) is True
        assert key in pack.at(ON).provisional


def test_the_user_who_accepted_cannot_confirm(db: Session) -> None:
    staff = make_world(db)
    # The county officer accepts (受理) the application, and may also confirm in 安丘's township steps.
    case = apply(db, staff.county, on=ON, members=[member("钱一", build_id_number("370784", date(1950, 1, 1), 11, "M"),
                                                             "head", labour_capacity="none")])
    _to_confirmation(db, case)
    assert active_step(case) is not None and active_step(case).key == "confirmation"  # type: ignore[union-attr]
    with pytest.raises(PermissionDenied, match="受理本案的人员不能审核确认本案"):
        _act(db, staff.county, case, "confirmation", follow_engine(case))
    _act(db, staff.approver, case, "confirmation", follow_engine(case))  # another user confirms
    assert next(s for s in case.steps if s.key == "confirmation").status == "done"


def test_the_approver_of_a_grant_cannot_pay_it(db: Session) -> None:
    staff = make_world(db)
    need = {"kind": "emergency", "amount": "800", "reason": "房屋失火"}
    case = apply(db, staff.worker, on=ON, need=need, programs=[],
                 members=[member("孙二", build_id_number("370784", date(1985, 1, 1), 21, "M"), "head", "1500",
                                 employment="employed")])
    _act(db, staff.approver, case, "emergency_grant", {"amount": "800"})
    with pytest.raises(PermissionDenied, match="批准本笔临时救助金的人员不能发放"):
        _act(db, staff.approver, case, "payment", {"method": "cash"})
    _act(db, staff.county, case, "payment", {"method": "cash"})
    assert case.status == CaseStatus.DECIDED


def test_village_assistant_withdraws_only_before_the_case_leaves_the_village(db: Session) -> None:
    staff = make_world(db)
    village = auth.actor_for(make_user(db, "village1", ["village_assistant"], VILLAGE_A1))
    people = [member("李三", build_id_number("370784", date(1950, 1, 1), 31, "M"), "head", labour_capacity="none"),
              member("李四", build_id_number("370784", date(1951, 1, 1), 41, "M"), "head", labour_capacity="none")]
    case = apply(db, staff.worker, on=ON, members=[people[0]])
    _to_confirmation(db, case)
    with pytest.raises(PermissionDenied, match="审核确认"):
        applications.withdraw(db, case=case, actor=village, reason="申请人要求撤回", version=case.version)
    assert case.status == CaseStatus.OPEN
    applications.withdraw(db, case=case, actor=staff.worker, reason="申请人要求撤回", version=case.version)
    assert case.status == CaseStatus.WITHDRAWN
    # Before acceptance the village assistant who took the application may still withdraw it.
    data = ApplicationCreate.model_validate({"area_code": VILLAGE_A1, "hukou_type": "rural", "members": [people[1]],
                                             "applicant_name": "李四", "applicant_id_number": people[1]["id_number"]})
    early = applications.submit(db, actor=village, data=data)
    applications.withdraw(db, case=early, actor=village, reason="申请人要求撤回", version=early.version)
    assert early.status == CaseStatus.WITHDRAWN
