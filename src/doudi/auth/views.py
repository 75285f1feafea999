"""Auth API: bearer tokens for API clients."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from pydantic import BaseModel

from doudi.auth import service as auth
from doudi.auth.permissions import role_labels
from doudi.db.engine import retry_busy
from doudi.deps import ApiActor, SessionDep, SettingsDep, client_ip

router = APIRouter(prefix="/auth", tags=["auth"])


class TokenOut(BaseModel):
    """An issued bearer token."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeOut(BaseModel):
    """The caller's identity and scope."""

    username: str
    area_code: str
    roles: list[str]
    role_labels: list[str]


@router.post("/token", response_model=TokenOut)
def issue_token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> TokenOut:
    """Exchange username and password (form fields) for a bearer token."""
    def attempt() -> auth.LoginResult:
        result = auth.authenticate(session, settings=settings, username=username, password=password,
                                   ip=client_ip(request))
        if result.user is None:
            session.commit()  # keep the failed-attempt count and its audit entry
        return result

    result = retry_busy(session, attempt, label="令牌登录")
    if result.user is None:
        raise HTTPException(status_code=401, detail=result.error, headers={"WWW-Authenticate": "Bearer"})
    token, _row = auth.issue_token(session, settings=settings, user=result.user)
    session.commit()
    return TokenOut(access_token=token, expires_in=settings.token_minutes * 60)


@router.post("/revoke", status_code=204)
def revoke(request: Request, actor: ApiActor, session: SessionDep) -> None:
    """Revoke the bearer token used for this call."""
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    auth.revoke_token(session, actor=actor, token=token)
    session.commit()


@router.get("/me", response_model=MeOut)
def me(actor: ApiActor) -> MeOut:
    """Who the token belongs to."""
    labels = role_labels()
    roles = sorted(actor.roles)
    return MeOut(username=actor.username, area_code=actor.area_code, roles=roles,
                 role_labels=[labels.get(r, r) for r in roles])
