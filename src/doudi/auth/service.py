"""Accounts, sign-in with lock-out, web sessions and API tokens. Nothing here commits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, event, select, update
from sqlalchemy.orm import Session, joinedload

from doudi.areas.models import Area
from doudi.audit import service as audit
from doudi.auth import token_cache
from doudi.auth.models import ApiToken, RoleGrant, User, WebSession
from doudi.auth.orgs import resolve_org
from doudi.auth.passwords import check_password_rules, hash_password, needs_rehash, verify_password
from doudi.auth.permissions import ROLES, Actor, OrgKind
from doudi.auth.scope import area_clause, get_in_area
from doudi.config import Settings
from doudi.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from doudi.db.engine import begin_write
from doudi.db.versions import claim


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(dt: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def token_digest(token: str) -> str:
    """The stored form of a session or API token."""
    return hashlib.sha256(token.encode()).hexdigest()


def actor_for(user: User, *, ip: str = "") -> Actor:
    """The Actor a signed-in user acts as."""
    return Actor(username=user.username, area_code=user.area_code, roles=user.roles, user_id=user.id, ip=ip,
                 org_kind=OrgKind(user.org_kind) if user.org_kind else None, org=user.org_key)


def create_user(
    session: Session,
    *,
    actor: Actor,
    username: str,
    password: str,
    roles: list[str],
    area_code: str,
    full_name: str = "",
    supervisor_id: int | None = None,
    org: str | None = None,
    check_rules: bool = True,
) -> User:
    """Create an account after checking the role keys, the area, the organisation and the password rules."""
    errors = []
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        errors.append(FieldError("role", f"未知角色 {unknown or '(空)'}；可选: {', '.join(ROLES)}"))
    org_kind, org_key, org_errors = resolve_org(roles, org, session=session)
    errors.extend(org_errors)
    if session.get(Area, area_code) is None:
        errors.append(FieldError("area", f"区划 {area_code} 不存在"))
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        errors.append(FieldError("username", f"用户名 {username} 已存在"))
    if check_rules:
        try:
            check_password_rules(password, username=username)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    if not actor.sees(area_code):
        raise NotFound(f"区划 {area_code}")
    user = User(
        username=username,
        full_name=full_name or username,
        password_hash=hash_password(password),
        area_code=area_code,
        supervisor_id=supervisor_id,
        org_kind=org_kind,
        org_key=org_key,
        grants=[RoleGrant(role=r) for r in sorted(set(roles))],
    )
    session.add(user)
    session.flush()
    after: dict[str, object] = {"username": username, "roles": sorted(set(roles)), "area_code": area_code}
    if org_key:
        after["org"] = f"{org_kind}:{org_key}"
    audit.record(session, actor=actor, action="user.create", object_type="user", object_id=user.id,
                 area_code=area_code, after=after)
    return user


@dataclass
class LoginResult:
    """The outcome of a sign-in attempt."""

    user: User | None
    error: str | None = None


def authenticate(session: Session, *, settings: Settings, username: str, password: str, ip: str = "") -> LoginResult:
    """Check a password, counting failures and locking the account after too many."""
    begin_write(session)  # the attempt is written whatever the outcome
    user = session.scalar(select(User).where(User.username == username))
    anon = Actor(username=username or "(空)", area_code="000000", ip=ip)
    generic = "用户名或密码错误"
    if user is None or not user.is_active:
        verify_password(hash_password("x" * 12), password)  # keep timing similar for unknown users
        audit.record(session, actor=anon, action="auth.login", outcome="failed", extra={"reason": "unknown_user"})
        return LoginResult(None, generic)
    now = _now()
    if user.locked_until and _aware(user.locked_until) > now:
        audit.record(session, actor=actor_for(user, ip=ip), action="auth.login", object_type="user",
                     object_id=user.id, area_code=user.area_code, outcome="denied", extra={"reason": "locked"})
        return LoginResult(None, f"账户已锁定，请于 {settings.lockout_minutes} 分钟后重试或联系管理员")
    if user.locked_until is not None:  # the lock ran out: the count starts again (once, whoever comes first)
        session.execute(update(User).where(User.id == user.id, User.locked_until == user.locked_until)
                        .values(failed_logins=0, locked_until=None))
    # The attempt is counted by one atomic UPDATE before the password is checked: parallel requests each get
    # their own number, so no more than the limit are ever checked, a right password included.
    attempt = session.execute(update(User).where(User.id == user.id)
                              .values(failed_logins=User.failed_logins + 1)
                              .returning(User.failed_logins)).scalar_one()
    if attempt > settings.max_failed_logins:
        audit.record(session, actor=actor_for(user, ip=ip), action="auth.login", object_type="user",
                     object_id=user.id, area_code=user.area_code, outcome="denied", extra={"reason": "locked"})
        return LoginResult(None, f"账户已锁定，请于 {settings.lockout_minutes} 分钟后重试或联系管理员")
    if not verify_password(user.password_hash, password):
        reason = "bad_password"
        if attempt >= settings.max_failed_logins:
            # Stays at the limit until the lock runs out, so parallel attempts beyond it are refused above.
            session.execute(update(User).where(User.id == user.id)
                            .values(locked_until=now + timedelta(minutes=settings.lockout_minutes)))
            _end_access(session, user)  # a lock-out also ends open sessions and API tokens
            reason = "locked_now"
        audit.record(session, actor=actor_for(user, ip=ip), action="auth.login", object_type="user",
                     object_id=user.id, area_code=user.area_code, outcome="failed", extra={"reason": reason})
        if reason == "locked_now":
            return LoginResult(None, f"密码错误次数过多，账户已锁定 {settings.lockout_minutes} 分钟")
        return LoginResult(None, generic)
    session.execute(update(User).where(User.id == user.id).values(failed_logins=0, locked_until=None))
    session.refresh(user)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    audit.record(session, actor=actor_for(user, ip=ip), action="auth.login", object_type="user",
                 object_id=user.id, area_code=user.area_code)
    return LoginResult(user)


def start_web_session(session: Session, *, settings: Settings, user: User, ip: str = "") -> tuple[str, WebSession]:
    """Open a console session; returns the raw cookie token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    ws = WebSession(
        token_hash=token_digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
        created_at=now, last_seen_at=now, expires_at=now + timedelta(minutes=settings.session_minutes), ip=ip,
    )
    session.add(ws)
    session.flush()
    return token, ws


SLIDE_EVERY = timedelta(minutes=1)


def resolve_web_session(session: Session, *, settings: Settings, token: str) -> tuple[User, WebSession] | None:
    """The user behind a session cookie, sliding its expiry; None when expired, revoked or unknown."""
    # The session, its user and the user's roles in one round trip (each console request asks).
    row = session.execute(select(WebSession, User).join(User, User.id == WebSession.user_id)
                          .where(WebSession.token_hash == token_digest(token))
                          .options(joinedload(User.grants))).unique().first()
    now = _now()
    if row is None:
        return None
    ws, user = row
    if ws.revoked or _aware(ws.expires_at) <= now or not user.is_active:
        return None
    # Slid at most once a minute, so that reading pages does not write on every request (on SQLite a write
    # waits for any other writer).
    if now - _aware(ws.last_seen_at) >= SLIDE_EVERY:
        ws.last_seen_at = now
        ws.expires_at = now + timedelta(minutes=settings.session_minutes)
    return user, ws


def touch_web_session(session: Session, *, session_id: int, last_seen_at: datetime, expires_at: datetime) -> None:
    """Write a console session's sliding expiry (for requests that change nothing else)."""
    session.execute(update(WebSession).where(WebSession.id == session_id)
                    .values(last_seen_at=last_seen_at, expires_at=expires_at))


def end_web_session(session: Session, *, token: str) -> None:
    """Revoke a console session (logout)."""
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == token_digest(token)))
    if ws is not None:
        ws.revoked = True


def issue_token(session: Session, *, settings: Settings, user: User) -> tuple[str, ApiToken]:
    """Issue an API bearer token; returns the raw token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    row = ApiToken(token_hash=token_digest(token), user_id=user.id, created_at=now,
                   expires_at=now + timedelta(minutes=settings.token_minutes))
    session.add(row)
    session.flush()
    return token, row


def resolve_token(session: Session, *, token: str) -> User | None:
    """The user behind a bearer token; None when expired, revoked or unknown."""
    found = _token_user(session, token_digest(token))
    return found[0] if found else None


def _token_user(session: Session, digest: str) -> tuple[User, ApiToken] | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if row is None or row.revoked_at is not None or _aware(row.expires_at) <= _now():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active or (user.locked_until and _aware(user.locked_until) > _now()):
        return None
    return user, row


def token_actor(session: Session | Connection, *, token: str, ip: str = "") -> Actor | None:
    """The actor behind a bearer token (None when expired, revoked or unknown); a token this process verified
    in the last seconds is answered from memory (:mod:`doudi.auth.token_cache`), without the database."""
    digest = token_digest(token)
    actor = token_cache.get(digest, _now())
    if actor is None:
        since = token_cache.generation()
        found = _token_row_actor(session, digest)
        if found is None:
            return None
        actor, expires_at = found
        token_cache.put(digest, actor, expires_at, since)
    return replace(actor, ip=ip)


def cached_token_actor(*, token: str, ip: str = "") -> Actor | None:
    """The actor behind a token this process verified in the last seconds, from memory only (no database);
    None when it must be looked up (token_actor)."""
    actor = token_cache.get(token_digest(token), _now())
    return replace(actor, ip=ip) if actor is not None else None


def _access_changed(session: Session) -> None:
    """Cached bearer tokens resolve afresh, now and again when this transaction commits (a lookup in between
    still read the old state)."""
    token_cache.forget_all()
    session.info["tokens_changed"] = True


@event.listens_for(Session, "after_commit")
def _forget_tokens_on_commit(session: Session) -> None:
    if session.info.pop("tokens_changed", False):
        token_cache.forget_all()


def _token_row_actor(session: Session | Connection, digest: str) -> tuple[Actor, datetime] | None:
    """The Actor behind a token digest and the token's expiry, as `resolve_token` decides it, in one round trip:
    the token, its user and the user's roles are read as plain rows (one per role), without loading ORM objects.
    None when the token is expired, revoked or unknown, or its user inactive or locked."""
    rows = session.execute(
        select(ApiToken.revoked_at, ApiToken.expires_at, User.id, User.username, User.area_code, User.is_active,
               User.locked_until, User.org_kind, User.org_key, RoleGrant.role)
        .join(User, User.id == ApiToken.user_id).outerjoin(RoleGrant, RoleGrant.user_id == User.id)
        .where(ApiToken.token_hash == digest)).all()
    if not rows:
        return None
    first, now = rows[0], _now()
    if first.revoked_at is not None or _aware(first.expires_at) <= now or not first.is_active:
        return None
    if first.locked_until is not None and _aware(first.locked_until) > now:
        return None
    return Actor(username=first.username, area_code=first.area_code,
                 roles=frozenset(r.role for r in rows if r.role is not None), user_id=first.id,
                 org_kind=OrgKind(first.org_kind) if first.org_kind else None,
                 org=first.org_key), _aware(first.expires_at)


def revoke_token(session: Session, *, actor: Actor, token: str) -> None:
    """Revoke a bearer token so it no longer authenticates."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is None:
        raise NotFound("token")
    # One conditional update: of concurrent revocations exactly one takes effect and is audited.
    done = session.execute(update(ApiToken).where(ApiToken.id == row.id, ApiToken.revoked_at.is_(None))
                           .values(revoked_at=_now()).execution_options(synchronize_session="fetch"))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("该令牌已被吊销")
    _access_changed(session)
    audit.record(session, actor=actor, action="auth.token_revoke", object_type="api_token", object_id=row.id)


def set_password(session: Session, *, actor: Actor, user: User, password: str) -> None:
    """Change a password after checking the rules; ends the user's open sessions."""
    check_password_rules(password, username=user.username)
    user.password_hash = hash_password(password)
    user.password_changed_at = _now()
    _end_access(session, user)  # open console sessions and API tokens end with the old password
    audit.record(session, actor=actor, action="user.password", object_type="user", object_id=user.id,
                 area_code=user.area_code)


def get_user(session: Session, *, actor: Actor, user_id: int) -> User:
    """A user account within the actor's area, or NotFound."""
    return get_in_area(session, User, user_id, actor=actor, action="user.read", label="user")


def update_user(
    session: Session,
    *,
    actor: Actor,
    user_id: int,
    roles: list[str] | None = None,
    area_code: str | None = None,
    is_active: bool | None = None,
    full_name: str | None = None,
    supervisor_id: int | None = None,
    org: str | None = None,
    version: int | None = None,
) -> User:
    """Change a user's roles, area, status, supervisor or organisation; ending an account ends its access."""
    actor.require("user.manage")
    user = get_user(session, actor=actor, user_id=user_id)
    claim(session, user, version, label="该用户")
    errors = []
    if roles is not None and (not roles or any(r not in ROLES for r in roles)):
        errors.append(FieldError("role", f"角色须为 {', '.join(ROLES)} 中的一个或多个"))
    if area_code is not None and (session.get(Area, area_code) is None or not actor.sees(area_code)):
        errors.append(FieldError("area", f"区划 {area_code} 不存在或不在您的辖区内"))
    if supervisor_id is not None:
        sup = session.get(User, supervisor_id)
        if sup is None or not actor.sees(sup.area_code) or sup.id == user.id:
            errors.append(FieldError("supervisor", "上级用户不存在或不在您的辖区内"))
    if user.id == actor.user_id and (is_active is False or (roles is not None and "admin" not in roles)):
        errors.append(FieldError("user", "不能停用自己或取消自己的管理员角色"))
    # The organisation follows the roles: checked whenever either changes.
    org_kind, org_key, org_errors = resolve_org(list(roles if roles is not None else user.roles),
                                                org if org is not None else user.org_key, session=session)
    if roles is not None or org is not None:
        errors.extend(org_errors)
    if errors:
        raise ValidationFailed(errors)
    before = _account(user)
    if roles is not None and set(roles) != user.roles:
        # Only the grants that change: re-adding a kept role before its old row is deleted would break the
        # (user, role) unique constraint.
        user.grants = [g for g in user.grants if g.role in roles] + [RoleGrant(role=r) for r in sorted(set(roles))
                                                                       if r not in user.roles]
    if area_code is not None:
        user.area_code = area_code
    if is_active is not None:
        user.is_active = is_active
    if full_name is not None:
        user.full_name = full_name
    if supervisor_id is not None:
        user.supervisor_id = supervisor_id
    if roles is not None or org is not None:
        user.org_kind, user.org_key = org_kind, org_key
    if is_active is False:
        _end_access(session, user)
    _access_changed(session)  # roles, area or organisation may have changed: tokens resolve afresh
    session.flush()
    after = _account(user)
    audit.record(session, actor=actor, action="user.update", object_type="user", object_id=user.id,
                 area_code=user.area_code, before=before, after=after)
    return user


def _account(user: User) -> dict[str, object]:
    """The audited view of an account's settings."""
    return {"roles": sorted(user.roles), "area_code": user.area_code, "is_active": user.is_active,
            "full_name": user.full_name, "supervisor_id": user.supervisor_id,
            "org": f"{user.org_kind}:{user.org_key}" if user.org_key else None}


def _end_access(session: Session, user: User) -> None:
    now = _now()
    _access_changed(session)
    for ws in session.scalars(select(WebSession).where(WebSession.user_id == user.id, WebSession.revoked.is_(False))):
        ws.revoked = True
    for tok in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
        tok.revoked_at = now


def unlock_user(session: Session, *, actor: Actor, user_id: int, version: int | None = None) -> User:
    """Clear a lock-out."""
    actor.require("user.manage")
    user = get_user(session, actor=actor, user_id=user_id)
    claim(session, user, version, label="该用户")
    user.locked_until, user.failed_logins = None, 0
    audit.record(session, actor=actor, action="user.unlock", object_type="user", object_id=user.id,
                 area_code=user.area_code)
    return user


def reset_password(session: Session, *, actor: Actor, user_id: int, password: str,
                   version: int | None = None) -> User:
    """Set a new password for a user (administrators), ending their sessions."""
    actor.require("user.manage")
    user = get_user(session, actor=actor, user_id=user_id)
    check_password_rules(password, username=user.username)
    claim(session, user, version, label="该用户")
    set_password(session, actor=actor, user=user, password=password)
    return user


def list_users(session: Session, *, actor: Actor, q: str = "", exclude: int | None = None,
               limit: int = 500) -> list[User]:
    """Accounts within the actor's area, by username (optionally matching `q`, or without one user)."""
    actor.require("user.read")
    stmt = select(User).where(area_clause(User.area_code, actor)).order_by(User.username)
    if q:
        stmt = stmt.where(User.username.contains(q) | User.full_name.contains(q))
    if exclude is not None:
        stmt = stmt.where(User.id != exclude)
    return list(session.scalars(stmt.limit(limit)))


def area_choices(session: Session, *, actor: Actor, limit: int = 2000) -> list[Area]:
    """The areas an administrator may assign: their own subtree, by code."""
    return list(session.scalars(select(Area).where(area_clause(Area.code, actor)).order_by(Area.code).limit(limit)))
