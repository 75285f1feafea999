"""Attempt limits hold under parallel requests (issue 14 item 6), on SQLite and PostgreSQL: each attempt is
counted by one atomic UPDATE before the secret is compared, so no more than the limit are ever compared."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from doudi.audit.models import AuditEntry
from doudi.auth import service as auth
from doudi.auth.models import User
from doudi.config import Settings
from doudi.core.errors import ValidationFailed
from doudi.db.engine import sessionmaker_for
from doudi.portal import service as portal
from doudi.portal.models import OtpCode
from tests.factories import PASSWORD, TOWN_A, make_areas, make_user

N = 16


def _parallel(fn, n: int = N) -> list[str]:  # type: ignore[no-untyped-def]
    gate = threading.Barrier(n)

    def one(i: int) -> str:
        gate.wait()
        return str(fn(i))

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def _reason(entry: AuditEntry) -> object:
    extra = entry.changes.get("_")
    return extra.get("reason") if isinstance(extra, dict) else None


def test_parallel_logins_lock_after_the_limit(fresh_database) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(max_failed_logins=5, lockout_minutes=15, secret_key="k" * 32)
    factory = sessionmaker_for(fresh_database.engine)
    with factory() as s:
        make_areas(s)
        make_user(s, "town1", ["township_caseworker"], TOWN_A)
        s.commit()

    def attempt(i: int) -> str:
        password = PASSWORD if i == 0 else "wrong-password-1A"  # one right among 15 wrong
        with factory() as s:
            result = auth.authenticate(s, settings=settings, username="town1", password=password)
            s.commit()
            return "ok" if result.user else (result.error or "")

    outcomes = Counter(_parallel(attempt))
    with factory() as s:
        reasons = Counter(_reason(e) for e in s.scalars(select(AuditEntry).where(
            AuditEntry.action == "auth.login", AuditEntry.outcome == "failed")))
        user = s.scalar(select(User).where(User.username == "town1"))
        assert user is not None
        # 15 wrong passwords against a limit of 5: at most 5 are compared before the lock (the right one may
        # reset the count once if it comes first), and the account ends locked.
        assert reasons["bad_password"] + reasons["locked_now"] <= 2 * settings.max_failed_logins
        assert reasons["locked_now"] == 1
        assert user.locked_until is not None
        assert sum(n for o, n in outcomes.items() if "锁定" in o) >= N - 1 - 2 * settings.max_failed_logins
        # After the lock the right password is refused too.
        assert auth.authenticate(s, settings=settings, username="town1", password=PASSWORD).user is None
        # When the lock has run out, the count starts again and the right password works.
        user.locked_until = datetime.now(UTC) - timedelta(minutes=1)
        s.commit()
        assert auth.authenticate(s, settings=settings, username="town1", password=PASSWORD).user is not None


def test_parallel_wrong_codes_compare_at_most_the_limit(fresh_database) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(demo=True, otp_provider="log", secret_key="k" * 32)
    factory = sessionmaker_for(fresh_database.engine)
    phone = "13800138000"
    with factory() as s:
        portal.send_code(s, settings=settings, phone=phone)
        s.commit()

    def guess(i: int) -> str:
        with factory() as s:
            try:
                portal.verify_code(s, phone=phone, code=f"{i:06d}x")
                return "ok"
            except ValidationFailed as exc:
                return exc.errors[0].message
            finally:
                s.commit()  # the page keeps the attempt count

    outcomes = Counter(_parallel(guess))
    assert outcomes["验证码不正确"] == portal.MAX_ATTEMPTS
    assert outcomes["验证码已失效，请重新获取"] == N - portal.MAX_ATTEMPTS
    with factory() as s:
        assert s.scalar(select(OtpCode.attempts)) == portal.MAX_ATTEMPTS
