"""Accounts, role grants, web sessions and API tokens. Secrets are stored only as hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from doudi.db.base import Base, Timestamped


class User(Timestamped, Base):
    """A staff member (or a care provider or agency liaison) bound to one area, and for such roles to the
    organisation they act for (an agency's data-source key, a provider's or partner's key)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    area_code: Mapped[str] = mapped_column(ForeignKey("areas.code"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    phone: Mapped[str | None] = mapped_column(String(20))
    org_kind: Mapped[str | None] = mapped_column(String(16))  # agency | provider | partner (auth.permissions.OrgKind)
    org_key: Mapped[str | None] = mapped_column(String(64))
    # Administrators' changes claim it (doudi.db.versions.claim); sign-in counters do not move it.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    grants: Mapped[list[RoleGrant]] = relationship(lazy="selectin", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("(org_kind is null and org_key is null) or "
                        "(org_kind in ('agency','provider','partner') and org_key is not null)", name="org"),
    )

    @property
    def roles(self) -> frozenset[str]:
        """The role keys this user holds."""
        return frozenset(g.role for g in self.grants)


class RoleGrant(Base):
    """One role held by one user."""

    __tablename__ = "role_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))

    __table_args__ = (UniqueConstraint("user_id", "role"),)


class WebSession(Base):
    """A server-side console session; the cookie carries only a random id, stored here hashed."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str] = mapped_column(String(64), default="")
    revoked: Mapped[bool] = mapped_column(default=False)


class ApiToken(Base):
    """A bearer token for the REST API; it expires and can be revoked."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
