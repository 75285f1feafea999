"""Citizen sign-in by phone and one-time code, and the citizen's view of their cases."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.cases.models import Case
from doudi.config import Settings
from doudi.core.errors import DoudiError, FieldError, NotFound, ValidationFailed
from doudi.core.masking import mask_phone
from doudi.db.engine import begin_write
from doudi.portal.models import CitizenSession, OtpCode
from doudi.portal.otp import sender_for
from doudi.registry.models import Membership, Person

PHONE = re.compile(r"^1[3-9]\d{9}$")
CODE_MINUTES = 5
MAX_CODES_PER_HOUR = 5
MAX_ATTEMPTS = 5
SESSION_HOURS = 2


def _h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def check_phone(phone: str) -> str:
    """A normalised mainland mobile number, or ValidationFailed."""
    phone = phone.strip().replace(" ", "").replace("-", "")
    if not PHONE.match(phone):
        raise ValidationFailed([FieldError("phone", "请输入 11 位手机号码")])
    return phone


def send_code(session: Session, *, settings: Settings, phone: str) -> None:
    """Send a 6-digit code, at most 5 per phone per hour."""
    phone = check_phone(phone)
    recent = session.scalar(select(func.count(OtpCode.id)).where(
        OtpCode.phone == phone, OtpCode.created_at > _now() - timedelta(hours=1))) or 0
    if recent >= MAX_CODES_PER_HOUR:
        raise ValidationFailed([FieldError("phone", "获取验证码过于频繁，请一小时后再试")])
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = _now()
    session.add(OtpCode(phone=phone, code_hash=_h(f"{phone}:{code}"), created_at=now,
                        expires_at=now + timedelta(minutes=CODE_MINUTES)))
    session.flush()
    if settings.otp_provider == "log" and not settings.demo:
        # Writing sign-in codes to the log is for demonstrations only; production needs an SMS gateway.
        raise DoudiError("短信验证码服务未配置（请设置 DOUDI_OTP_PROVIDER），暂不能登录")
    sender_for(settings.otp_provider)(phone, code)


def verify_code(session: Session, *, phone: str, code: str) -> tuple[str, CitizenSession]:
    """Check the latest code; on success open a session (returns the raw cookie token)."""
    begin_write(session)  # the attempt is written whatever the outcome
    phone = check_phone(phone)
    otp = session.scalar(select(OtpCode).where(OtpCode.phone == phone, OtpCode.used.is_(False))
                         .order_by(OtpCode.id.desc()).limit(1))
    if otp is None or _aware(otp.expires_at) < _now():
        raise ValidationFailed([FieldError("code", "验证码已失效，请重新获取")])
    # One atomic UPDATE takes the attempt before the code is compared, so parallel guesses cannot all pass the
    # limit check at once; only the attempt that marks the code used wins it.
    taken = session.execute(
        update(OtpCode).where(OtpCode.id == otp.id, OtpCode.used.is_(False), OtpCode.attempts < MAX_ATTEMPTS)
        .values(attempts=OtpCode.attempts + 1).returning(OtpCode.attempts)).scalar()
    if taken is None:
        raise ValidationFailed([FieldError("code", "验证码已失效，请重新获取")])
    if not secrets.compare_digest(otp.code_hash, _h(f"{phone}:{code.strip()}")):
        raise ValidationFailed([FieldError("code", "验证码不正确")])
    used = session.execute(update(OtpCode).where(OtpCode.id == otp.id, OtpCode.used.is_(False))
                           .values(used=True).returning(OtpCode.id)).scalar()
    if used is None:
        raise ValidationFailed([FieldError("code", "验证码已失效，请重新获取")])
    token = secrets.token_urlsafe(32)
    cs = CitizenSession(token_hash=_h(token), phone=phone, csrf_token=secrets.token_urlsafe(24),
                        expires_at=_now() + timedelta(hours=SESSION_HOURS))
    session.add(cs)
    session.flush()
    return token, cs


def resolve(session: Session, *, token: str) -> CitizenSession | None:
    """The citizen session behind a cookie, if still valid."""
    cs = session.scalar(select(CitizenSession).where(CitizenSession.token_hash == _h(token)))
    if cs is None or _aware(cs.expires_at) < _now():
        return None
    return cs


def citizen_actor(phone: str, area_code: str = "000000", ip: str = "") -> Actor:
    """The actor for audit entries written on a citizen's behalf (no staff permissions)."""
    return Actor(username=f"citizen:{mask_phone(phone)}", area_code=area_code, ip=ip)


def my_cases(session: Session, *, phone: str) -> list[Case]:
    """Cases this phone filed, or in which it is the applicant's or proxy's number."""
    stmt = select(Case).where(or_(Case.portal_phone == phone, Case.applicant_phone == phone,
                                  Case.proxy_phone == phone)).order_by(Case.id.desc()).limit(100)
    return list(session.scalars(stmt))


def my_case(session: Session, *, phone: str, case_id: int) -> Case:
    """One of the citizen's cases, or NotFound (other people's cases look missing)."""
    case = session.get(Case, case_id)
    if case is None or phone not in {case.portal_phone, case.applicant_phone, case.proxy_phone}:
        raise NotFound("case")
    return case


def my_households(session: Session, *, phone: str) -> list[int]:
    """Households that are the citizen's own: those of cases filed with this phone as the applicant's or from the
    portal as oneself, and those where a current member is registered with this phone. A proxy's number alone
    does not open another family's payments."""
    by_case = select(Case.household_id).where(or_(Case.applicant_phone == phone, Case.portal_phone == phone),
                                              Case.proxy_phone != phone, Case.household_id.is_not(None))
    by_person = select(Membership.household_id).join(Person, Person.id == Membership.person_id).where(
        Person.phone == phone, Membership.valid_to.is_(None))
    return sorted({int(h) for h in session.scalars(by_case.union(by_person)) if h is not None})
