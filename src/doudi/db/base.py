"""Declarative base with stable constraint names, so Alembic diffs are identical on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, DateTime, MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from doudi.db import versions as _versions  # noqa: F401  (imported for its effect: registers the flush hook)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def one_of(column: str, states: type[StrEnum]) -> CheckConstraint:
    """A CHECK constraint (named ``ck_<table>_<column>``) that keeps a state column to its enum's values."""
    values = ",".join(f"'{s.value}'" for s in states)
    return CheckConstraint(f"{column} in ({values})", name=column)


class Base(DeclarativeBase):
    """Base class of every ORM model."""

    metadata = MetaData(naming_convention=NAMING)


class Timestamped:
    """Created/updated timestamps kept by the database."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Versioned:
    """Optimistic locking: every write checks the version it read (a stale write raises StaleDataError
    instead of overwriting), and each transaction that changes the object moves the version on by one
    (`doudi.db.versions`: `claim` it before changing it, or the flush bumps it)."""

    version: Mapped[int] = mapped_column(nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, object]:
        # The application sets the next version itself, so a claim and the flush never count it twice.
        return {"version_id_col": cls.__table__.c.version, "version_id_generator": False}  # type: ignore[attr-defined]

