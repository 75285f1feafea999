"""State columns: every status column is kept to its StrEnum's values by a CHECK constraint in the database."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import CheckConstraint, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doudi.cases.models import Case, CaseStatus, EnrollmentStatus
from doudi.core.ids import build_id_number
from doudi.db.base import Base
from doudi.db.registry import load_all_models
from tests.cases.world import apply, make_world, member


def test_every_status_column_has_a_check_constraint() -> None:
    load_all_models()
    missing = []
    for table in Base.metadata.tables.values():
        checks = " ".join(str(c.sqltext) for c in table.constraints if isinstance(c, CheckConstraint))
        missing += [f"{table.name}.{col.name}" for col in table.columns
                    if col.name == "status" and f"{col.name} in (" not in checks]
    assert missing == []
    enrollments = Base.metadata.tables["enrollments"]
    check = next(c for c in enrollments.constraints if isinstance(c, CheckConstraint))
    assert "'suspended'" in str(check.sqltext)  # payments and monitoring suspend enrollments
    assert [s.value for s in EnrollmentStatus] == ["active", "gradual_exit", "suspended", "terminated"]


def test_the_database_refuses_an_unknown_state(db: Session) -> None:
    staff = make_world(db)
    case = apply(db, staff.worker, on=date(2026, 11, 2), members=[member("状态", build_id_number(
        "370784", date(1970, 1, 1), 301, "M"), "head", "100")])
    db.commit()
    db.execute(update(Case).where(Case.id == case.id).values(status=CaseStatus.WITHDRAWN))
    db.rollback()
    with pytest.raises(IntegrityError):
        db.execute(update(Case).where(Case.id == case.id).values(status="cancelled"))
    db.rollback()
