"""Console pages: effective parameters (/policy), reform simulation (/policy/simulate), and the
evaluation panel on the household page."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from doudi.areas import service as areas
from doudi.auth.permissions import Actor
from doudi.core import clock
from doudi.core.errors import DoudiError, PermissionDenied, ValidationFailed
from doudi.deps import PageActor, SessionDep
from doudi.policy import service
from doudi.policy.params import PackError, load_pack
from doudi.policy.programs import all_programs
from doudi.policy.registry_frames import read_registry
from doudi.policy.service import parameter_rows
from doudi.policy.simulate import parse_overrides, simulate
from doudi.policy.spec import kind_of
from doudi.registry import panels
from doudi.registry.models import Household
from doudi.web import nav
from doudi.web.render import render

router = APIRouter(include_in_schema=False)

nav.register(nav.NavItem("政策参数", "/policy", "policy.read"))
nav.register(nav.NavItem("政策模拟", "/policy/simulate", "evaluation.simulate"))

LABELS = {p.key: p.label for p in all_programs()}


def _parse_date(raw: str) -> date:
    try:
        return date.fromisoformat(raw) if raw else clock.today()
    except ValueError:
        return clock.today()


@router.get("/policy")
def parameters_page(request: Request, actor: PageActor, region: str = "", on: str = Query("", alias="date")
                    ) -> Response:
    """The parameters in force for the user's region; provisional values are flagged as awaiting confirmation."""
    actor.require("policy.read")

    area = region or actor.area_code
    if not actor.sees(area):
        raise PermissionDenied(f"{area} 不在辖区内")
    when = _parse_date(on)
    data = parameter_rows(area, when)
    groups: dict[str, list[Any]] = {}
    for row in data.parameters:
        groups.setdefault(row.key.split(".")[0], []).append(row)
    labels = {**LABELS, "age": "年龄界限", "statistics": "统计数据", "disability": "残疾等级",
              "rigid_expenses": "刚性支出期间", "refs": "法规依据（按施行日期）"}
    ctx = {"data": data, "groups": groups, "labels": labels,
           "area": area, "when": when, "n_provisional": sum(r.provisional for r in data.parameters)}
    return render(request, "policy/parameters.html", ctx)


def _numeric_params(area: str, when: date) -> list[dict[str, Any]]:
    pack = load_pack(area)
    out = []
    for key in pack.names():
        if kind_of(key) not in {"number", "int"}:
            continue
        prm = pack.param(key)
        value = prm.at(when, None)
        if value is None:
            continue
        src = prm.source_on(when)
        out.append({"key": key, "value": value, "unit": src.unit, "provisional": src.provisional})
    return out


@router.get("/policy/simulate")
def simulate_page(request: Request, session: SessionDep, actor: PageActor, key: str = "", value: str = "",
                  on: str = Query("", alias="date")) -> Response:
    """Reform simulation over the user's area: change one parameter, see the change per township and program."""
    actor.require("evaluation.simulate")

    when = _parse_date(on)
    try:
        params = _numeric_params(actor.area_code, when)
    except PackError:
        params = []
    ctx: dict[str, Any] = {"params": params, "key": key, "value": value, "when": when, "report": None,
                           "errors": [], "labels": LABELS, "townships": {}}
    if key and value:
        try:
            overrides = parse_overrides([f"{key}={value}"])
            frames = read_registry(session.connection(), on=when, area_prefix=actor.area_code)
            if len(frames) == 0:
                ctx["errors"] = ["辖区内没有家庭档案"]
            else:
                report = simulate(frames, when, overrides)
                ctx["report"] = report
                codes = report.by_township["township"].unique().to_list()
                ctx["townships"] = areas.names(session, codes=codes)
        except ValidationFailed as exc:
            ctx["errors"] = [str(e) for e in exc.errors]
        except DoudiError as exc:
            ctx["errors"] = [str(exc)]
    return render(request, "policy/simulate.html", ctx)


@panels.register
def evaluation_panel(session: Session, actor: Actor, household: Household) -> panels.Panel | None:
    """The household's evaluation for every program, from its registry facts, with reasons and articles."""
    if not actor.can("evaluation.run"):
        return None
    today = clock.today()
    try:
        result = service.evaluate_registry_household(session, actor=actor, household_id=household.id, on=today)
        error = ""
    except (DoudiError, PackError) as exc:
        result, error = None, str(exc)
    return panels.Panel(title="救助资格测算（一次申请、分类审核认定）", template="policy/_panel.html",
                        context={"result": result, "error": error, "labels": LABELS, "on": today})
