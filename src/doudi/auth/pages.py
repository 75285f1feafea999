"""Console sign-in, sign-out, the home page and user administration."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from doudi.audit import service as audit
from doudi.auth import service as auth
from doudi.auth.models import User
from doudi.auth.orgs import agencies
from doudi.auth.permissions import ROLE_ORG, ROLES, Actor, role_labels
from doudi.core import clock
from doudi.core.errors import Conflict, FieldError, ValidationFailed
from doudi.db.engine import retry_busy
from doudi.deps import SESSION_COOKIE, CsrfChecked, FormDep, PageActor, SessionDep, SettingsDep, client_ip
from doudi.web.charts import dashboard_charts
from doudi.web.dashboard import dashboard_cards
from doudi.web.render import render

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "doudi_login_csrf"


def _safe_next(url: str) -> str:
    parsed = urlparse(url or "/")
    # Only same-site relative paths, so the login page cannot be used as an open redirect.
    if parsed.scheme or parsed.netloc or not (parsed.path or "/").startswith("/"):
        return "/"
    return url or "/"


@router.get("/login")
def login_form(request: Request, settings: SettingsDep, next: str = "/") -> Response:
    """The sign-in page."""
    token = secrets.token_urlsafe(24)
    resp = render(request, "auth/login.html", {"next": _safe_next(next), "login_csrf": token, "error": None})
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=settings.secure_cookies)
    return resp


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password; on success open a session and go to `next`."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        return render(request, "auth/login.html", {"next": _safe_next(next), "login_csrf": cookie,
                                                   "error": "页面已过期，请重新登录"}, status_code=403)
    def attempt() -> auth.LoginResult:
        result = auth.authenticate(session, settings=settings, username=username.strip(), password=password,
                                   ip=client_ip(request))
        if result.user is None:
            session.commit()  # the failed attempt is counted and audited even while another write is open
        return result

    result = retry_busy(session, attempt, label="登录")
    if result.user is None:
        return render(request, "auth/login.html", {"next": _safe_next(next), "login_csrf": cookie,
                                                   "error": result.error, "username": username}, status_code=401)
    token, _ws = auth.start_web_session(session, settings=settings, user=result.user, ip=client_ip(request))
    session.commit()
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=settings.secure_cookies,
                    max_age=settings.session_minutes * 60 * 16)
    resp.delete_cookie(LOGIN_CSRF_COOKIE)
    return resp


@router.post("/logout")
def logout(request: Request, session: SessionDep, actor: PageActor, _csrf: CsrfChecked) -> Response:
    """End the console session."""
    auth.end_web_session(session, token=request.cookies.get(SESSION_COOKIE, ""))
    audit.record(session, actor=actor, action="auth.logout", object_type="user", object_id=actor.user_id)
    session.commit()
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.get("/")
def home(request: Request, session: SessionDep, actor: PageActor) -> Response:
    """The workbench: what this user can do, and the dashboards their roles allow."""
    return render(request, "home.html", {"cards": dashboard_cards(session, actor=actor),
                                         "charts": dashboard_charts(session, actor=actor, today=clock.today())})


def _choices(session: SessionDep, actor: Actor) -> dict[str, object]:
    """What the account forms offer: roles, areas in the administrator's subtree, organisations."""
    return {"roles": ROLES, "labels": role_labels(), "areas": auth.area_choices(session, actor=actor),
            "org_roles": sorted(ROLE_ORG), "agencies": agencies()}


@router.get("/admin/users")
def users_page(request: Request, session: SessionDep, actor: PageActor, q: str = "") -> Response:
    """Accounts within the administrator's area."""
    users = auth.list_users(session, actor=actor, q=q)
    return render(request, "auth/users.html", {"users": users, "q": q, "errors": [], **_choices(session, actor)})


@router.post("/admin/users")
def create_user_page(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    _csrf: CsrfChecked,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[list[str], Form()],
    area_code: Annotated[str, Form()],
    full_name: Annotated[str, Form()] = "",
    org: Annotated[str, Form()] = "",
) -> Response:
    """Create an account (administrators only)."""
    actor.require("user.manage")
    try:
        auth.create_user(session, actor=actor, username=username.strip(), password=password, roles=role,
                         area_code=area_code, full_name=full_name.strip(), org=org)
    except ValidationFailed as exc:
        session.rollback()
        return render(request, "auth/users.html", {"users": auth.list_users(session, actor=actor), "q": "",
                                                   "errors": exc.errors, **_choices(session, actor)},
                      status_code=422)
    session.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/users/{user_id}")
def user_detail(request: Request, user_id: int, session: SessionDep, actor: PageActor) -> Response:
    """One account: roles, area, organisation, supervisor, lock state."""
    user = auth.get_user(session, actor=actor, user_id=user_id)
    return _user_page(request, session, actor, user, [])


def _user_page(request: Request, session: SessionDep, actor: Actor, user: User, errors: Sequence[object],
               status_code: int = 200, notice: str = "") -> Response:
    peers = auth.list_users(session, actor=actor, exclude=user.id)
    return render(request, "auth/user_detail.html", {"u": user, "peers": peers, "errors": errors, "notice": notice,
                                                     **_choices(session, actor)}, status_code=status_code)


@router.post("/admin/users/{user_id}")
def user_update(request: Request, user_id: int, session: SessionDep, actor: PageActor, _csrf: CsrfChecked,
                form: FormDep) -> Response:
    """Save roles, area, organisation, status and supervisor; or unlock; or reset the password."""
    op = str(form.get("op", "update"))
    version = str(form.get("version", ""))
    seen = int(version) if version.isdigit() else None
    try:
        if op == "unlock":
            user = auth.unlock_user(session, actor=actor, user_id=user_id, version=seen)
            notice = "已解锁"
        elif op == "password":
            user = auth.reset_password(session, actor=actor, user_id=user_id, password=str(form.get("password", "")),
                                       version=seen)
            notice = "密码已重置，该用户的现有会话已失效"
        else:
            sup = str(form.get("supervisor_id", ""))
            user = auth.update_user(
                session, actor=actor, user_id=user_id, roles=[str(r) for r in form.getlist("role")],
                area_code=str(form.get("area_code", "")) or None, is_active=form.get("is_active") == "on",
                full_name=str(form.get("full_name", "")), supervisor_id=int(sup) if sup.isdigit() else None,
                org=str(form.get("org", "")), version=seen,
            )
            notice = "已保存"
    except (ValidationFailed, Conflict) as exc:
        session.rollback()
        errors = exc.errors if isinstance(exc, ValidationFailed) else [FieldError("version", str(exc))]
        return _user_page(request, session, actor, auth.get_user(session, actor=actor, user_id=user_id),
                          errors, status_code=422 if isinstance(exc, ValidationFailed) else 409)
    session.commit()
    return _user_page(request, session, actor, user, [], notice=notice)
