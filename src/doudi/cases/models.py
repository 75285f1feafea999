"""Cases, their steps and timeline, documents, tasks, temporary grants and enrollments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index, Numeric, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from doudi.db.base import Base, Timestamped, Versioned, one_of

Money = Numeric(14, 2)


class CaseStatus(StrEnum):
    """Where a case stands."""

    SUBMITTED = "submitted"
    NEEDS_INFO = "needs_info"
    OPEN = "open"
    DECIDED = "decided"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


class StepStatus(StrEnum):
    """Where a step of a case stands."""

    WAITING = "waiting"
    ACTIVE = "active"
    DONE = "done"
    SKIPPED = "skipped"


class StepLevel(StrEnum):
    """Who acts on a step."""

    VILLAGE = "village"
    TOWNSHIP = "township"
    COUNTY = "county"


class TaskStatus(StrEnum):
    """A follow-up task."""

    OPEN = "open"
    DONE = "done"


class ApprovalLevel(StrEnum):
    """Who approves temporary aid, by amount (暂行办法 Art. 48)."""

    TOWNSHIP = "township"
    COUNTY = "county"
    CASE_BY_CASE = "case_by_case"


class EnrollmentStatus(StrEnum):
    """An enrollment in a program: paid, tapering off (渐退), suspended (payments, monitoring) or ended."""

    ACTIVE = "active"
    GRADUAL_EXIT = "gradual_exit"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


class ChangeStatus(StrEnum):
    """A change to an enrollment: publicized first where the rules ask for it."""

    PUBLICIZING = "publicizing"
    EFFECTIVE = "effective"
    CANCELLED = "cancelled"


class Case(Timestamped, Versioned, Base):
    """One application (一次申请) covering every program the household may qualify for."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="standard")  # standard | emergency | review | termination
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # CaseStatus
    channel: Mapped[str] = mapped_column(String(16))  # applicant | proxy | discovery | staff
    applicant_name: Mapped[str] = mapped_column(String(64))
    applicant_id_number: Mapped[str] = mapped_column(String(18), default="")
    applicant_phone: Mapped[str] = mapped_column(String(20), default="", index=True)
    portal_phone: Mapped[str] = mapped_column(String(20), default="", index=True)  # citizen who filed online
    proxy_name: Mapped[str] = mapped_column(String(64), default="")
    proxy_phone: Mapped[str] = mapped_column(String(20), default="", index=True)
    proxy_relation: Mapped[str] = mapped_column(String(16), default="")  # relative | friend | village_cadre | other
    programs: Mapped[list[str]] = mapped_column(JSON, default=list)  # program keys this case decides
    proposed: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)  # engine's proposal at acceptance
    declared: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)  # what a citizen declared online
    delegated: Mapped[bool] = mapped_column(default=False)  # township confirms (审批权限下放)
    close_relative: Mapped[bool] = mapped_column(default=False)  # 审核确认办法 Art. 11
    close_relative_note: Mapped[str] = mapped_column(String(200), default="")
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    accepted_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    extended_to: Mapped[date | None] = mapped_column(Date)
    extension_reason: Mapped[str] = mapped_column(String(200), default="")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    pack_version: Mapped[str] = mapped_column(String(40), default="")
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    linked_case_id: Mapped[int | None] = mapped_column()  # emergency aid and the rest of the same application

    steps: Mapped[list[CaseStep]] = relationship(order_by="CaseStep.seq", lazy="selectin", cascade="all")
    decisions: Mapped[list[ProgramDecision]] = relationship(lazy="selectin", cascade="all")

    __table_args__ = (Index("ix_cases_area_status_due", "area_code", "status", "due_on"), one_of("status", CaseStatus))


class CaseStep(Versioned, Base):
    """One step of the procedure with its legal due date and who did it."""

    __tablename__ = "case_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column()
    key: Mapped[str] = mapped_column(String(24))
    round: Mapped[int] = mapped_column(default=1)  # an objection during 公示 starts a new round
    status: Mapped[str] = mapped_column(String(12), index=True)  # StepStatus
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # hour-level deadlines (24 h aid)
    level: Mapped[str] = mapped_column(String(12), default=StepLevel.TOWNSHIP.value)  # StepLevel: who acts
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    performed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str] = mapped_column(String(24), default="")
    data: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    basis: Mapped[str] = mapped_column(String(120), default="")  # the article that sets the deadline

    # ix_case_steps_waiting covers what the inbox and the overdue counts read of the waiting steps (migration 1700).
    __table_args__ = (Index("ix_case_steps_active_due", "status", "due_on"),
                      Index("ix_case_steps_waiting", "status", "case_id", "key", "level", "due_on", "due_at"),
                      one_of("status", StepStatus), one_of("level", StepLevel))


class ProgramDecision(Versioned, Base):
    """The decision on one program of a case."""

    __tablename__ = "program_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    program: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))  # 特困 and child programs are personal
    proposal: Mapped[str] = mapped_column(String(12), default="")  # approve | reject (first-review opinion)
    outcome: Mapped[str] = mapped_column(String(12), default="")  # approved | rejected
    monthly_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    level: Mapped[str] = mapped_column(String(24), default="")  # e.g. care level, child category
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_on: Mapped[date | None] = mapped_column(Date)
    notice_due_on: Mapped[date | None] = mapped_column(Date)  # rejection notice within 3 working days
    # An approval of a program the engine found ineligible: the written reason and the level that took it.
    override_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    override_level: Mapped[str] = mapped_column(String(12), default="", server_default="")

    __table_args__ = (UniqueConstraint("case_id", "program", "person_id"),)


class CaseEvent(Base):
    """The case timeline: every action with who, when and what."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")
    public: Mapped[bool] = mapped_column(default=True)  # shown to the citizen on the portal
    data: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class Document(Base):
    """An uploaded or generated file attached to a case (stored on disk, hashed)."""

    __tablename__ = "case_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # id_card | income_proof | authorisation | notice | …
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(255))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    uploaded_by: Mapped[str] = mapped_column(String(64))


class Task(Versioned, Base):
    """A follow-up task with a deadline (e.g. complete the paperwork after emergency aid)."""

    __tablename__ = "case_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(12), default=TaskStatus.OPEN.value, index=True)  # TaskStatus
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (one_of("status", TaskStatus),)


class TemporaryGrant(Versioned, Base):
    """A temporary-assistance grant: approval level, fund, payment deadline and payment."""

    __tablename__ = "temporary_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # emergency | expenditure
    amount: Mapped[Decimal] = mapped_column(Money)
    approval_level: Mapped[str] = mapped_column(String(16))  # ApprovalLevel
    fund: Mapped[str] = mapped_column(String(32), default="")  # township_reserve | county
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    payment_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    collective: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)  # 一事一议: date, participants, decision

    __table_args__ = (one_of("approval_level", ApprovalLevel),)


class Enrollment(Timestamped, Versioned, Base):
    """A household's (or person's) enrollment in a program, paid from the month after approval."""

    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    program: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # EnrollmentStatus
    monthly_amount: Mapped[Decimal] = mapped_column(Money)
    level: Mapped[str] = mapped_column(String(24), default="")
    start_month: Mapped[date] = mapped_column(Date)  # first day of the first paid month
    end_month: Mapped[date | None] = mapped_column(Date)  # first day of the first month no longer paid
    review_cycle_months: Mapped[int] = mapped_column(default=12)
    next_review_on: Mapped[date | None] = mapped_column(Date, index=True)
    gradual_exit_until: Mapped[date | None] = mapped_column(Date)
    origin_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))

    __table_args__ = (one_of("status", EnrollmentStatus),)


class EnrollmentChange(Versioned, Base):
    """An increase, reduction, gradual exit, review or termination, with its reason and notice."""

    __tablename__ = "enrollment_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(16))  # review | increase | decrease | gradual_exit | terminate
    status: Mapped[str] = mapped_column(String(16), default=ChangeStatus.EFFECTIVE.value)  # ChangeStatus
    effective_month: Mapped[date] = mapped_column(Date)
    old_amount: Mapped[Decimal] = mapped_column(Money)
    new_amount: Mapped[Decimal] = mapped_column(Money)
    # A change of care level (特困): the level before and from `effective_month` ('' = level unchanged).
    old_level: Mapped[str] = mapped_column(String(24), default="", server_default="")
    new_level: Mapped[str] = mapped_column(String(24), default="", server_default="")
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    publicity_until: Mapped[date | None] = mapped_column(Date)

    # At most one termination under 公示 per enrollment, whatever the concurrency: the database says so.
    __table_args__ = (Index("uq_enrollment_changes_open_termination", "enrollment_id", unique=True,
                            postgresql_where=text("kind = 'terminate' AND status = 'publicizing'"),
                            sqlite_where=text("kind = 'terminate' AND status = 'publicizing'")),
                      one_of("status", ChangeStatus))


class Notice(Versioned, Base):
    """A decision or rejection notice, frozen at issue time; the PDF is rendered from this snapshot."""

    __tablename__ = "case_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"), index=True)
    area_code: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(24))  # approval | rejection | change | termination
    number: Mapped[str] = mapped_column(String(40), unique=True)
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)  # rejection: served within 3 working days
    served_on: Mapped[date | None] = mapped_column(Date)
    content: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
