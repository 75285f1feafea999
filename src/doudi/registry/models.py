"""Registry tables. Facts are append-only: a correction is a new row that supersedes the old one."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    false,
    func,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from doudi.db.base import Base, Timestamped, Versioned

Money = Numeric(14, 2)


class Household(Timestamped, Versioned, Base):
    """A household (家庭) as registered in one area."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_no: Mapped[str] = mapped_column(String(32), unique=True)  # 户编号, stable across imports
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    hukou_type: Mapped[str] = mapped_column(String(8))
    # A capable legal supporter living outside the household (None: not recorded, never read as "no").
    has_capable_supporter: Mapped[bool | None] = mapped_column(default=None)
    former_registered_poor: Mapped[bool] = mapped_column(default=False, server_default=false())  # 原建档立卡贫困户

    members: Mapped[list[Membership]] = relationship(
        back_populates="household", order_by="Membership.id", lazy="selectin"
    )

    __table_args__ = (CheckConstraint("hukou_type in ('urban','rural')", name="hukou_type"),)


class Person(Timestamped, Versioned, Base):
    """A resident, identified by a validated 18-digit ID number."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    hukou_area_code: Mapped[str | None] = mapped_column(String(12))
    hukou_type: Mapped[str | None] = mapped_column(String(8))
    disability_category: Mapped[str | None] = mapped_column(String(16))
    disability_grade: Mapped[int | None] = mapped_column()
    serious_illness: Mapped[bool] = mapped_column(default=False)
    self_care_unable_items: Mapped[int] = mapped_column(default=0)
    labour_capacity: Mapped[str] = mapped_column(String(8), default="full")
    student: Mapped[bool] = mapped_column(default=False)
    schooling_stage: Mapped[str | None] = mapped_column(String(24))  # vocab.SchoolingStage
    employment: Mapped[str] = mapped_column(String(16), default="not_applicable")
    child_status: Mapped[str | None] = mapped_column(String(24))
    date_of_death: Mapped[date | None] = mapped_column(Date)
    no_civil_capacity: Mapped[bool] = mapped_column(default=False, server_default=false())  # 无民事行为能力
    # Current status, as the civil-affairs office records it (特困认定办法 Art. 8 (1)(2), Art. 24 ¶2).
    extreme_poverty_supported: Mapped[bool] = mapped_column(default=False, server_default=false())
    dibao_recipient: Mapped[bool] = mapped_column(default=False, server_default=false())
    support_mode: Mapped[str | None] = mapped_column(String(16))  # 供养方式: centralized | dispersed
    # Legal supporters living elsewhere (法定赡养、抚养、扶养义务人): all None = not recorded.
    supporters_elsewhere_able: Mapped[int | None] = mapped_column(SmallInteger)
    supporters_elsewhere_unable: Mapped[int | None] = mapped_column(SmallInteger)
    supporters_elsewhere_unverified: Mapped[int | None] = mapped_column(SmallInteger)

    __table_args__ = (
        CheckConstraint("sex in ('M','F')", name="sex"),
        CheckConstraint("disability_grade is null or disability_grade between 1 and 4", name="grade"),
        CheckConstraint("self_care_unable_items between 0 and 6", name="self_care"),
        CheckConstraint("support_mode is null or support_mode in ('centralized','dispersed')", name="support_mode"),
        CheckConstraint("schooling_stage is null or schooling_stage in ('preschool','primary','junior_secondary',"
                        "'senior_high','secondary_vocational','higher_vocational','undergraduate','postgraduate')",
                        name="schooling_stage"),
        CheckConstraint("coalesce(supporters_elsewhere_able, 0) >= 0 and coalesce(supporters_elsewhere_unable, 0) >= 0"
                        " and coalesce(supporters_elsewhere_unverified, 0) >= 0", name="supporters_elsewhere"),
    )


class Membership(Base):
    """A person's membership of a household over a period (history is kept on change)."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    relation: Mapped[str] = mapped_column(String(16))
    # Art. 7 ¶2: clergy, prisoners and missing persons live in the household but are not counted.
    exclusion: Mapped[str | None] = mapped_column(String(24))
    lives_with_household: Mapped[bool] = mapped_column(default=True)
    valid_from: Mapped[date] = mapped_column(Date, server_default=func.current_date())
    # False: the ledger gave no date; valid_from is then the birth date ("since before the import, date unknown").
    valid_from_known: Mapped[bool] = mapped_column(default=True, server_default=true())
    valid_to: Mapped[date | None] = mapped_column(Date)

    household: Mapped[Household] = relationship(back_populates="members")
    person: Mapped[Person] = relationship(lazy="joined")

    __table_args__ = (Index("ix_memberships_current", "person_id", "valid_to"),)


def current_key_index(table: str) -> Index:
    """At most one current (not superseded) fact per natural key: what makes a re-import idempotent."""
    where = text("fact_key IS NOT NULL AND superseded_by IS NULL")
    return Index(f"uq_{table}_fact_key_current", "fact_key", unique=True, postgresql_where=where, sqlite_where=where)


class FactColumns:
    """Provenance shared by every fact: source, batch, period and who recorded it."""

    source_kind: Mapped[str] = mapped_column(String(16))  # declared | investigated | feed
    source_key: Mapped[str | None] = mapped_column(String(32))  # e.g. 'tax' for the 税务 feed
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_batches.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    superseded_by: Mapped[int | None] = mapped_column()  # id of the fact that corrects this one
    note: Mapped[str] = mapped_column(String(200), default="")
    # An imported fact's natural key (household, person, kind, period, source, certificate): a re-import
    # finds it, a correction supersedes it; unique among the current (not superseded) facts of a table.
    # Byte order ("C") on PostgreSQL: the key is only ever matched, never sorted for a reader, and its unique index
    # is built and searched several times faster than under the database's language rules.
    fact_key: Mapped[str | None] = mapped_column(String(240).with_variant(String(240, collation="C"), "postgresql"))
    investigator: Mapped[str] = mapped_column(String(64), default="", server_default="")  # 调查人 (investigated)
    investigated_on: Mapped[date | None] = mapped_column(Date)  # 调查日期


class IncomeFact(FactColumns, Base):
    """A monthly (or period) income item of a household member."""

    __tablename__ = "income_facts"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    amount: Mapped[Decimal] = mapped_column(Money)  # yuan per month over the period

    __table_args__ = (current_key_index("income_facts"),)


class AssetFact(FactColumns, Base):
    """An asset holding (financial assets, property, vehicle, business registration)."""

    __tablename__ = "asset_facts"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[int] = mapped_column(default=1)
    value: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))  # yuan
    description: Mapped[str] = mapped_column(String(200), default="")
    exempt: Mapped[bool] = mapped_column(default=False)  # e.g. a disabled person's mobility vehicle
    certificate_no: Mapped[str | None] = mapped_column(String(64))  # 不动产权证号 / 行驶证号, one holder at a time

    __table_args__ = (current_key_index("asset_facts"),)


class ExpenseFact(FactColumns, Base):
    """A rigid expense (out-of-pocket medical, education, rehabilitation) over a period."""

    __tablename__ = "expense_facts"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    amount: Mapped[Decimal] = mapped_column(Money)  # yuan over the whole period

    __table_args__ = (current_key_index("expense_facts"),)


class LivingCondition(FactColumns, Base):
    """An observed living condition (housing, water, electricity, …) used by multi-dimensional assessment."""

    __tablename__ = "living_conditions"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(64))

    __table_args__ = (current_key_index("living_conditions"),)


class Revision(Base):
    """The full before-image of a household or person at each change, so a mistake can be undone.

    The audit log keeps who/when/what with sensitive values masked; this table keeps the exact values
    (scoped like the object itself) so that an undo can restore them.
    """

    __tablename__ = "registry_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    object_type: Mapped[str] = mapped_column(String(16))  # household | person | membership
    object_id: Mapped[int] = mapped_column()
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    by_user: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    by_name: Mapped[str] = mapped_column(String(64), default="")
    reverted_by: Mapped[int | None] = mapped_column()  # id of the revision that undid this one
