"""FastAPI dependencies: database session, settings, the signed-in actor, CSRF checks and request bodies.

Routes that work with the database are plain `def` functions (FastAPI runs them in its thread pool, off the
event loop); whatever needs `await` — parsing a form, reading an upload — happens in the async dependencies
here, before the route runs. A request commits once: the route commits its work; a read-only page leaves
only the console session's sliding expiry pending, which `get_session` commits after the route returns.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Annotated, TypeVar

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.datastructures import UploadFile as StarletteUpload

from doudi.auth import service as auth
from doudi.auth.models import User, WebSession
from doudi.auth.permissions import Actor
from doudi.config import Settings
from doudi.core.errors import FieldError, ValidationFailed
from doudi.core.uploads import read_capped
from doudi.db.engine import outside_transactions, read_sessionmaker_for, retry_busy, write_sessionmaker_for

SESSION_COOKIE = "doudi_session"
# API requests by other methods write: on SQLite their transactions take the write lock from the start.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_settings_dep(request: Request) -> Settings:
    """The app's settings (a coroutine: nothing to wait for, so no trip through the thread pool)."""
    settings: Settings = request.app.state.settings
    return settings


def _committed(session: Session) -> None:
    session.info["committed"] = True


def _finish(session: Session, *, ok: bool) -> None:
    """The end of a request's session, in a worker thread: the sliding expiry of a page that committed nothing,
    then the rollback of whatever is left and the connection's return to the pool."""
    try:
        touch = session.info.get("touch")
        if ok and touch is not None and not session.info.get("committed"):
            session.rollback()

            def slide() -> None:
                auth.touch_web_session(session, **touch)
                session.commit()

            retry_busy(session, slide, label="会话续期")
    finally:
        session.rollback()
        session.close()


_S = TypeVar("_S")
_D = TypeVar("_D")


def _derived(request: Request, name: str, source: _S, make: Callable[[_S], _D]) -> _D:
    """`make(source)`, kept on app.state under `name` until the app's source object changes (tests swap it)."""
    cached = getattr(request.app.state, name, None)
    if cached is None or cached[0] is not source:
        cached = (source, make(source))
        setattr(request.app.state, name, cached)
    derived: _D = cached[1]
    return derived


def _autocommit(bind: Engine) -> Engine:
    """The engine on its pool, with each statement committed on its own (no BEGIN and ROLLBACK)."""
    return bind.execution_options(isolation_level="AUTOCOMMIT")


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One database session per request. The route commits its work once; anything it leaves uncommitted is
    rolled back. On a page that commits nothing, the console session's sliding expiry (noted by page_login)
    is written and committed here instead, before the response is sent: one commit per request either way.

    A coroutine, because opening a session touches no database (the first query does, in the route's thread);
    the end goes to a worker thread only when there is database work left (a transaction to roll back, an
    expiry to write). A route that committed holds no connection any more, and its session just closes."""
    factory = request.app.state.sessionmaker
    # API writes only: their session's work runs in one thread (the token is read on a connection of its own).
    # A console page reads its session in a dependency first; holding SQLite's lock from there across the hop to
    # the route's thread could leave the holder waiting for a thread that a waiting writer occupies.
    if request.method not in READ_METHODS and request.url.path.startswith("/api/"):
        factory = _derived(request, "write_sessionmaker", factory, write_sessionmaker_for)
    # Listened for once per factory: a listener added to each new session costs more than the lookup.
    if not event.contains(factory, "after_commit", _committed):
        event.listen(factory, "after_commit", _committed)
    session: Session = factory()
    ok = False
    try:
        yield session
        ok = True
    finally:
        if session.in_transaction() or (ok and session.info.get("touch") is not None):
            # Its own limiter, as FastAPI's for sync generator dependencies: the end of a request that holds a
            # connection never waits behind new requests for a thread (they may be waiting for its connection).
            await to_thread.run_sync(partial(_finish, session, ok=ok), limiter=CapacityLimiter(1))
        else:
            session.close()


async def get_read_session(request: Request) -> AsyncIterator[Session]:
    """A session for a route that only reads (a write through it raises). On PostgreSQL its statements run
    outside a transaction, so there is nothing to roll back at the end: the connection goes back to the pool
    here, on the event loop, without a trip through the thread pool."""
    factory = _derived(request, "read_sessionmaker", request.app.state.sessionmaker, read_sessionmaker_for)
    session: Session = factory()
    try:
        yield session
    finally:
        if session.in_transaction() and not outside_transactions(session):
            await to_thread.run_sync(partial(_finish, session, ok=False), limiter=CapacityLimiter(1))
        else:
            session.close()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# scope="function": the code after `yield` runs when the route returns, before the response is sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]

_bearer = HTTPBearer(auto_error=False)


def client_ip(request: Request) -> str:
    """The caller's address as seen by the server."""
    return request.client.host if request.client else ""


def _token_lookup(request: Request, token: str) -> Actor | None:
    factory = request.app.state.sessionmaker
    bind = factory.kw.get("bind")
    if not isinstance(bind, Engine):  # sessions joined to one connection's transaction (as in the tests)
        with factory() as session:
            return auth.token_actor(session, token=token, ip=client_ip(request))
    if bind.dialect.name == "postgresql":  # one statement on its own: no BEGIN and ROLLBACK around it
        bind = _derived(request, "lookup_engine", bind, _autocommit)
    with bind.connect() as conn:
        return auth.token_actor(conn, token=token, ip=client_ip(request))


async def api_actor(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The actor behind a bearer token; 401 when absent, expired or revoked. A token this process verified in
    the last seconds is answered from memory here, on the event loop: no trip through the thread pool, where
    the request would queue once for its token and again for its route. Otherwise it is read in a worker
    thread on a connection of its own, returned at once, so that no connection is held while the request
    waits for a thread to run its route."""
    actor = None
    if creds:
        actor = auth.cached_token_actor(token=creds.credentials, ip=client_ip(request))
        if actor is None:
            actor = await to_thread.run_sync(partial(_token_lookup, request, creds.credentials))
    if actor is None:
        raise HTTPException(status_code=401, detail="未认证或令牌已失效", headers={"WWW-Authenticate": "Bearer"})
    request.state.actor = actor
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
    user, ws = found
    # The sliding expiry (when it moved) is committed with the route's work, or on its own by get_session.
    if session.is_modified(ws):
        session.info["touch"] = {"session_id": ws.id, "last_seen_at": ws.last_seen_at, "expires_at": ws.expires_at}
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


async def form_data(request: Request) -> FormData:
    """The request's form, parsed on the event loop so that the route itself can be a plain `def`."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


@dataclass(frozen=True)
class Uploaded:
    """An uploaded file read into memory under a size cap, or the reason it was refused."""

    filename: str
    data: bytes
    error: FieldError | None = None

    def check(self) -> bytes:
        """The bytes, or ValidationFailed with the refusal."""
        if self.error is not None:
            raise ValidationFailed([self.error])
        return self.data


def upload_field(field: str = "file", *, max_bytes: int) -> Callable[[Request], Awaitable[Uploaded]]:
    """A dependency reading the form's file field with a hard cap (the route decides how to show a refusal)."""
    async def read(request: Request) -> Uploaded:
        item = (await request.form()).get(field)
        if not isinstance(item, StarletteUpload):
            return Uploaded("", b"", FieldError(field, "请选择要上传的文件"))
        try:
            return Uploaded(item.filename or "", await read_capped(item, max_bytes=max_bytes, field=field))
        except ValidationFailed as exc:
            return Uploaded(item.filename or "", b"", exc.errors[0])
    return read


def query_date(name: str, label: str) -> Callable[[Request], date | None]:
    """A dependency reading an optional date from the query string: empty means no filter; a bad value is a
    422 naming the field (an empty date box in a GET form sends `name=`, which a `date | None` refuses)."""

    def read(request: Request) -> date | None:
        raw = request.query_params.get(name, "").strip()
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ValidationFailed([FieldError(name, f"{label}应为日期（YYYY-MM-DD）：{raw[:20]}")]) from None

    return read
