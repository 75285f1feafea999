"""A small county for case tests: 安丘 townships (approval delegated since 2020-12-01, no 公示 for 低保/特困)
and a 台山 (江门) township (county confirms, 公示 kept), with staff for every role involved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from doudi.areas.service import AreaRow, upsert_areas
from doudi.auth import service as auth
from doudi.auth.permissions import Actor
from doudi.cases import applications
from doudi.cases.models import Case
from doudi.cases.schemas import ApplicationCreate
from tests.factories import TOWN_A, VILLAGE_A1, make_areas, make_user

TAISHAN_TOWN, TAISHAN_VILLAGE = "440781001", "440781001001"


@dataclass
class Staff:
    """Actors for every role a case passes through."""

    worker: Actor
    worker2: Actor
    approver: Actor
    county: Actor
    verifier: Actor
    js_worker: Actor
    js_county: Actor


def make_world(db: Session) -> Staff:
    """Areas and staff; returns their actors."""
    make_areas(db)
    upsert_areas(db, rows=[AreaRow(TAISHAN_TOWN, "台城街道", True, "synthetic"),
                           AreaRow(TAISHAN_VILLAGE, "城东社区", True, "synthetic")])
    county = make_user(db, "county1", ["county_officer"], "370784")
    users = {
        "worker": make_user(db, "worker1", ["township_caseworker"], TOWN_A, supervisor_id=county.id),
        "worker2": make_user(db, "worker2", ["township_caseworker"], TOWN_A),
        "approver": make_user(db, "approver1", ["township_approver"], TOWN_A),
        "county": county,
        "verifier": make_user(db, "verifier1", ["verification_officer"], "370784"),
        "js_worker": make_user(db, "js_worker", ["township_caseworker"], TAISHAN_TOWN),
        "js_county": make_user(db, "js_county", ["county_officer"], "440781"),
    }
    return Staff(**{k: auth.actor_for(u) for k, u in users.items()})


def member(name: str, id_number: str, relation: str, wage: str = "0", **kw: Any) -> dict[str, Any]:
    """An applicant member with declared monthly wage and authorisation."""
    return {"name": name, "id_number": id_number, "relation": relation, "authorised": True,
            "monthly_income": {"wage": wage}, **kw}


def apply(db: Session, actor: Actor, *, members: list[dict[str, Any]], area: str = VILLAGE_A1,
          hukou: str = "rural", on: date, need: dict[str, Any] | None = None, **extra: Any) -> Case:
    """Submit and accept an application on `on`."""
    data = ApplicationCreate.model_validate({
        "area_code": area, "hukou_type": hukou, "members": members, "applicant_name": members[0]["name"],
        "applicant_id_number": members[0]["id_number"], "temporary_need": need, **extra})
    case = applications.submit(db, actor=actor, data=data)
    return applications.accept(db, actor=actor, case_id=case.id, on=on)


def money(value: str) -> Decimal:
    """A yuan amount."""
    return Decimal(value)


def follow_engine(case: Any, amounts: dict[str, str] | None = None) -> dict[str, Any]:
    """Step opinions that agree with the engine's assessment at acceptance: approve what it finds eligible (at
    the given amount, else the engine's own), reject the rest with its reasons."""
    out = {}
    for p in case.programs:
        res = (case.proposed or {}).get("programs", {}).get(p, {})
        if res.get("eligible"):
            out[p] = {"decision": "approve", "monthly_amount": (amounts or {}).get(p, str(res["monthly_amount"]))}
        else:
            out[p] = {"decision": "reject", "reasons": "；".join(r["text"] for r in res.get("reasons", [])) or "不符合"}
    return {"opinions": out}
