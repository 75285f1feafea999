"""Scoping in one place: area subtrees and organisations through auth.scope, and nothing else reads the prefix."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from doudi.auth import service as auth
from doudi.auth.models import User
from doudi.auth.permissions import Actor, OrgKind, system_actor
from doudi.auth.scope import in_area, in_org, in_scope, outside_area
from doudi.core.errors import ValidationFailed
from doudi.db.engine import session_scope
from tests.conftest import Database
from tests.factories import TOWN_A, TOWN_B, make_areas, make_user

SRC = Path(__file__).resolve().parents[2] / "src" / "doudi"
ALLOWED = {"auth"}


def test_no_area_prefix_outside_auth() -> None:
    """Every area filter goes through auth.scope: `.prefix` of an actor is read nowhere else, no area column is
    filtered by hand, and no level is guessed from the length of an area code."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).parts[0] in ALLOWED:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\.prefix\b|len\(actor\.area_code\)|\.area_code\.startswith\(", line):
                offenders.append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
    assert offenders == []


def _names(db: Session, stmt: object) -> list[str]:
    return sorted(db.scalars(stmt))  # type: ignore[call-overload]


def test_area_and_organisation_filters(db: Session) -> None:
    """Area staff see their subtree; an organisation's user sees only rows addressed to it; the system all."""
    make_areas(db)
    make_user(db, "a_staff", ["township_caseworker"], TOWN_A)
    make_user(db, "b_staff", ["township_caseworker"], TOWN_B)
    make_user(db, "tax_liaison", ["agency_liaison"], "370784", org="tax")
    make_user(db, "si_liaison", ["agency_liaison"], "370784", org="social_insurance")
    base = select(User.username).where(User.username.in_(["a_staff", "b_staff", "tax_liaison", "si_liaison"]))

    town_a = Actor(username="x", area_code=TOWN_A, roles=frozenset({"township_caseworker"}))
    assert _names(db, in_area(base, User.area_code, town_a)) == ["a_staff"]
    assert _names(db, base.where(outside_area(User.area_code, town_a))) == [
        "b_staff", "si_liaison", "tax_liaison"]
    assert _names(db, base.where(outside_area(User.area_code, system_actor()))) == []

    liaison = auth.actor_for(db.scalars(select(User).where(User.username == "tax_liaison")).one())
    assert liaison.org_kind == OrgKind.AGENCY and liaison.org == "tax" and liaison.org_scoped
    # The org column here is the user's own organisation key: the liaison sees rows addressed to 'tax' only.
    assert _names(db, in_org(base, User.org_key, liaison, OrgKind.AGENCY)) == ["tax_liaison"]
    assert _names(db, in_org(base, User.org_key, liaison, OrgKind.PROVIDER)) == []
    assert _names(db, in_scope(base, liaison, area=User.area_code, org=(OrgKind.AGENCY, User.org_key))) == [
        "tax_liaison"]
    # Area staff and the system are not limited by organisation.
    assert _names(db, in_org(base, User.org_key, town_a, OrgKind.AGENCY)) == _names(db, base)
    assert _names(db, in_scope(base, system_actor(), area=User.area_code,
                               org=(OrgKind.AGENCY, User.org_key))) == _names(db, base)
    # A liaison whose organisation was never recorded sees nothing addressed to organisations.
    legacy = Actor(username="old", area_code="370784", roles=frozenset({"agency_liaison"}))
    assert _names(db, in_org(base, User.org_key, legacy, OrgKind.AGENCY)) == []
    assert not legacy.sees_org(OrgKind.AGENCY, "tax") and liaison.sees_org(OrgKind.AGENCY, "tax")


@pytest.mark.parametrize(("roles", "org", "field", "message"), [
    (["agency_liaison"], None, "org", "须指定所属机构"),
    (["agency_liaison"], "no_such_feed", "org", "未知部门数据源"),
    (["township_caseworker"], "tax", "org", "只有"),
    (["agency_liaison", "care_provider"], "tax", "role", "不同类型的机构"),
    (["care_provider"], "bad key!", "org", "只能包含"),
])
def test_organisation_is_checked_against_the_roles(db: Session, roles: list[str], org: str | None, field: str,
                                                   message: str) -> None:
    """Organisation roles need their organisation (agencies: a declared source); other roles take none."""
    make_areas(db)
    with pytest.raises(ValidationFailed) as err:
        auth.create_user(db, actor=system_actor(), username="u1", password="Passw0rd!23", roles=roles,
                         area_code=TOWN_A, org=org)
    assert any(e.field == field and message in e.message for e in err.value.errors)


def test_organisation_follows_role_changes(db: Session) -> None:
    """Dropping the organisation role needs the organisation cleared; the change is audited."""
    make_areas(db)
    admin = auth.actor_for(make_user(db, "county_admin", ["admin"], "370784"))
    carer = make_user(db, "carer", ["care_provider"], TOWN_A, org="ankang_care")
    assert (carer.org_kind, carer.org_key) == ("provider", "ankang_care")
    with pytest.raises(ValidationFailed):
        auth.update_user(db, actor=admin, user_id=carer.id, roles=["village_assistant"])
    auth.update_user(db, actor=admin, user_id=carer.id, roles=["village_assistant"], org="")
    assert (carer.org_kind, carer.org_key) == (None, None)


def test_cli_creates_a_liaison_with_its_agency(fresh_database: Database) -> None:
    """`doudi users create --org` records the agency; a liaison without one is refused with a clear message."""
    env = {**os.environ, "DOUDI_DATABASE_URL": fresh_database.url}
    base = [sys.executable, "-m", "doudi", "users", "create", "--password", "Passw0rd!23", "--role", "agency_liaison",
            "--area", "370784"]
    ok = subprocess.run([*base, "--username", "tax1", "--org", "tax"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "所属机构 tax" in ok.stdout
    missing = subprocess.run([*base, "--username", "tax2"], env=env, capture_output=True, text=True)
    assert missing.returncode == 2 and "须指定所属机构" in missing.stderr
    with session_scope(fresh_database.engine) as session:
        rows = session.execute(select(User.username, User.org_kind, User.org_key).where(
            User.username.in_(["tax1", "tax2"]))).all()
    assert [tuple(r) for r in rows] == [("tax1", "agency", "tax")]


def test_the_code_after_a_prefix() -> None:
    """The range's upper end, worked by hand: the last digit raised, trailing nines carried; none for nines."""
    from doudi.auth.scope import _after

    assert [_after(p) for p in ("3707", "37079", "370799", "0", "3", "999")] == ["3708", "3708", "3708", "1", "4",
                                                                                None]


@pytest.mark.parametrize("prefix", ["3707", "37079", "370784001", "9", "99"])
def test_starts_with_selects_what_like_selects(db: Session, prefix: str) -> None:
    """On both databases, the range of a digit prefix picks the same codes as the prefix itself: the prefix, its
    subtree, and none of the neighbours on either side (3706…, 3708, 37080…, '' and a shorter code)."""
    from sqlalchemy import literal, union_all

    from doudi.auth.scope import starts_with

    codes = ["", "3", "37", "370", "3706", "370699999999", "3707", "37070", "370700", "370784", "370784001",
             "370784001001", "370784002001", "37079", "370790", "370799999999", "3708", "370800", "9", "99",
             "999999", "98"]
    values = union_all(*(select(literal(c).label("code")) for c in codes)).subquery()
    got = set(db.scalars(select(values.c.code).where(starts_with(values.c.code, prefix))))
    assert got == {c for c in codes if c.startswith(prefix)}


def test_the_area_scope_is_served_by_an_ordinary_index(database: Database) -> None:
    """PostgreSQL (C.UTF-8 here) can serve LIKE 'prefix%' from a plain index only under the C collation; the
    range can. With sequential scans priced out, the plan of a village's warnings must use the area index as
    an index condition, not read every row."""
    if database.backend != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    from sqlalchemy import func, text

    from doudi.monitoring.models import MonitorWarning

    actor = Actor(username="v", area_code="370784001001", roles=frozenset({"village_assistant"}), user_id=None)
    stmt = in_area(select(func.count()).select_from(MonitorWarning), MonitorWarning.area_code, actor)
    with Session(database.engine) as s:
        s.execute(text("SET LOCAL enable_seqscan = off"))
        compiled = stmt.compile(database.engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(s.scalars(text(f"EXPLAIN {compiled}")))
    assert "ix_monitoring_warnings_area_status" in plan and "Index Cond" in plan, plan
    assert "area_code" in plan.split("Index Cond", 1)[1], plan
