"""Area table: one row per division, from province down to village."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from doudi.db.base import Base


class Area(Base):
    """An administrative division; `synthetic` marks codes invented for demo data."""

    __tablename__ = "areas"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(10), index=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("areas.code"), index=True)
    synthetic: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(64), default="GB/T 2260")
