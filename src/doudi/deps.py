"""FastAPI dependencies: database session, settings, the signed-in actor and CSRF checks."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from doudi.auth import service as auth
from doudi.auth.models import User, WebSession
from doudi.auth.permissions import Actor
from doudi.config import Settings

SESSION_COOKIE = "doudi_session"


def get_settings_dep(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One database session per request; the route commits, anything uncommitted is rolled back."""
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False)


def client_ip(request: Request) -> str:
    """The caller's address as seen by the server."""
    return request.client.host if request.client else ""


def api_actor(
    request: Request,
    session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The actor behind a bearer token; 401 when absent, expired or revoked."""
    user = auth.resolve_token(session, token=creds.credentials) if creds else None
    if user is None:
        raise HTTPException(status_code=401, detail="未认证或令牌已失效", headers={"WWW-Authenticate": "Bearer"})
    request.state.actor = actor = auth.actor_for(user, ip=client_ip(request))
    return actor


@dataclass(frozen=True)
class UserView:
    """What the console layout shows of the signed-in user."""

    username: str
    full_name: str
    roles: list[str]
    area_code: str


class LoginRequired(Exception):
    """Raised by page dependencies to send the browser to the login page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def page_login(request: Request, session: SessionDep, settings: SettingsDep) -> tuple[User, WebSession]:
    """The user and session behind the console cookie; otherwise redirect to the login page."""
    token = request.cookies.get(SESSION_COOKIE)
    found = auth.resolve_web_session(session, settings=settings, token=token) if token else None
    if found is None:
        raise LoginRequired(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""))
    session.commit()  # persist the sliding expiry
    user, ws = found
    # Plain values only: error pages render after the request's session is closed.
    request.state.user = UserView(user.username, user.full_name, sorted(user.roles), user.area_code)
    request.state.csrf_token = ws.csrf_token
    request.state.actor = auth.actor_for(user, ip=client_ip(request))
    return found


def page_actor(request: Request, _login: Annotated[tuple[User, WebSession], Depends(page_login)]) -> Actor:
    """The actor of a console page."""
    actor: Actor = request.state.actor
    return actor


async def csrf_check(request: Request, _login: Annotated[tuple[User, WebSession], Depends(page_login)]) -> None:
    """Reject a state-changing console request whose CSRF token does not match the session's."""
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent:
        form = await request.form()
        sent = str(form.get("csrf_token", ""))
    expected = request.state.csrf_token
    if not sent or not hmac.compare_digest(sent, expected):
        raise HTTPException(status_code=403, detail="CSRF 校验失败，请刷新页面后重试")


ApiActor = Annotated[Actor, Depends(api_actor)]
PageActor = Annotated[Actor, Depends(page_actor)]
CsrfChecked = Annotated[None, Depends(csrf_check)]
