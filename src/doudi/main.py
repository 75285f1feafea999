"""create_app(): the FastAPI application with every domain's API and console routes."""

from __future__ import annotations

import gc
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from urllib.parse import quote

from anyio import to_thread
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError

from doudi import __version__
from doudi.audit import service as audit
from doudi.audit.sealer import Sealer
from doudi.auth.permissions import Actor, explain_denial
from doudi.config import Settings, get_settings
from doudi.core import clock, storage
from doudi.core.errors import Conflict, DoudiError, NotFound, PermissionDenied, ValidationFailed
from doudi.core.validation import ERROR_RESPONSES, field_errors
from doudi.db import versions
from doudi.db.engine import make_engine, sessionmaker_for
from doudi.deps import LoginRequired
from doudi.logs import configure_logging
from doudi.web.balance import RecycleConnections
from doudi.web.render import render
from doudi.web.routing import guard_included_routers
from doudi.web.security import BUSY_HEADER, BusyRetry, SecurityHeaders

log = logging.getLogger("doudi.web")

# Each module exposes `router`; API modules are mounted under /api/v1, page modules at the root.
API_MODULES = [
    "doudi.auth.views",
    "doudi.registry.views",
    "doudi.audit.views",
    "doudi.cases.views",
    "doudi.verification.views",
    "doudi.policy.views",
    "doudi.monitoring.views",
    "doudi.payments.views",
    "doudi.care.views",
    "doudi.charity.views",
    "doudi.charity.fund.views",
    "doudi.charity.support.views",
]
PAGE_MODULES = [
    "doudi.auth.pages",
    "doudi.admin.pages",  # before registry.pages: /households/import must win over /households/{id}
    "doudi.caseload.pages",
    "doudi.registry.pages_edit",  # before registry.pages: /households/new must win over /households/{id}
    "doudi.registry.pages",
    "doudi.audit.pages",
    "doudi.cases.pages",
    "doudi.portal.pages",
    "doudi.verification.pages",
    "doudi.policy.pages",
    "doudi.monitoring.pages",
    "doudi.payments.pages",
    "doudi.care.pages",
    "doudi.targeting.pages",
    "doudi.charity.pages",
    "doudi.charity.portal",  # /m/charity: the citizen's consent
    "doudi.charity.fund.pages",  # with the public report /public/charity-fund (no login)
    "doudi.charity.support.pages",
    "doudi.web.chain",  # 一户一条救助链 (/households/{id}/chain)
    "doudi.web.manual",
]

STATIC_DIR = Path(__file__).parent / "web" / "static"
API_DOCS = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>兜底 doudi 接口文档</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui.css"></head>
<body><div id="swagger-ui" data-openapi="/api/v1/openapi.json"></div>
<script src="/static/vendor/swagger-ui-bundle.js"></script><script src="/static/swagger-init.js"></script>
</body></html>"""


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the application for the given settings (default: from the environment)."""
    settings = settings or get_settings()
    configure_logging(settings)
    engine = engine or make_engine(settings.resolved_database_url())
    app = FastAPI(
        title="doudi 兜底 社会救助平台 API",
        version=__version__,
        description="社会救助一体化平台：家庭档案、政策测算、审核确认、信息核对与审计。",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served below from our own static files: the default page loads Swagger UI from a CDN
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker_for(engine)
    storage.configure(settings.data_dir)
    clock.configure(settings.timezone)
    audit.configure_key(settings.resolved_audit_key())
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for name in API_MODULES:
        app.include_router(importlib.import_module(name).router, prefix="/api/v1", responses=ERROR_RESPONSES)
    for name in PAGE_MODULES:
        app.include_router(importlib.import_module(name).router)
    guard_included_routers(app)
    _install_error_handlers(app)
    app.add_middleware(BusyRetry)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RecycleConnections, every=settings.keepalive_requests)

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        """The API documentation (Swagger UI), offline."""
        return HTMLResponse(API_DOCS)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        """Liveness probe."""
        return {"status": "ok", "version": __version__}

    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Routes run in the thread pool; its size is the number of requests worked on at once (settings.web_threads).
    # The rest queue in order for a thread, instead of all contending for Python's one interpreter lock, where
    # whoever comes back from the database waits behind every other runnable thread.
    to_thread.current_default_thread_limiter().total_tokens = app.state.settings.web_threads
    _freeze_startup_objects()
    every = app.state.settings.audit_seal_seconds
    sealer = Sealer(app.state.engine, every=every) if every > 0 else None
    if sealer is not None:
        sealer.start()
    try:
        yield
    finally:
        if sealer is not None:
            sealer.stop()


@cache
def _freeze_startup_objects() -> None:
    """Keep the objects loaded at start-up out of the collector's full passes, once per process.

    They (modules, routes, templates: about half a million objects) live as long as the process. Left to the
    collector, each full collection walked all of them, and under load a worker stopped answering for 0.2 to
    1.1 s once or twice a minute; frozen, the same collections take about 20 ms.
    """
    gc.collect()
    gc.freeze()


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str, errors: list[dict[str, object]] | None = None) -> Response:
    if _wants_json(request):
        body: dict[str, object] = {"detail": message}
        if errors is not None:
            body["errors"] = errors
        return JSONResponse(body, status_code=status)
    return render(request, "error.html", {"status": status, "message": message, "errors": errors or []},
                  status_code=status)


def _audit_denial(request: Request, action: str, message: str) -> None:
    actor: Actor | None = getattr(request.state, "actor", None)
    if actor is None:
        return
    # The request's own transaction is rolled back, so the denial is written in a session of its own.
    session = request.app.state.sessionmaker()
    try:
        audit.record(session, actor=actor, action=action, object_type="route",
                     object_id=f"{request.method} {request.url.path}", outcome="denied", extra={"message": message})
        session.commit()
    finally:
        session.close()


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse(f"/login?next={quote(exc.next_url)}", status_code=303)

    @app.exception_handler(DoudiError)
    async def _domain(request: Request, exc: DoudiError) -> Response:
        return _error(request, 400, str(exc))

    @app.exception_handler(NotFound)
    async def _nf(request: Request, exc: NotFound) -> Response:
        return _error(request, 404, "未找到，或不在您的管辖范围内")

    # Plain functions: the denial is audited through the database, off the event loop.
    @app.exception_handler(PermissionDenied)
    def _pd(request: Request, exc: PermissionDenied) -> Response:
        _audit_denial(request, "auth.denied", str(exc))
        actor: Actor | None = getattr(request.state, "actor", None)
        return _error(request, 403, explain_denial(actor, exc.action) if exc.action else str(exc) or "无权执行此操作")

    @app.exception_handler(Conflict)
    async def _cf(request: Request, exc: Conflict) -> Response:
        return _error(request, 409, str(exc))

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> Response:
        return _error(request, 409, "该记录已被他人修改，请刷新后基于最新内容重新操作")

    @app.exception_handler(PoolTimeout)
    async def _pool(request: Request, exc: PoolTimeout) -> Response:
        resp = _error(request, 503, "系统繁忙，请稍后重试")
        resp.headers["Retry-After"] = "1"
        return resp

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> Response:
        # A concurrent change that the database itself stopped (stale snapshot, serialization failure,
        # deadlock, a unique index) is a conflict like a stale version; a lock held too long is "busy".
        # A stale snapshot, serialization failure or deadlock is first run again by BusyRetry (the request's
        # work was rolled back): a real conflict then shows as a stale version; the 409 is the last answer.
        if versions.is_write_conflict(exc):
            # What the user sees after BusyRetry's last try (at once for a body too large to keep): other writes
            # kept overtaking this one. A stale version is a Conflict of its own, with both version numbers.
            resp = _error(request, 409, "数据正被其他操作同时修改，本次未作任何更改，请稍后重试")
            resp.headers[BUSY_HEADER.decode()] = "1"
            return resp
        if versions.is_unique_violation(exc):
            return _error(request, 409, "该记录已被他人修改或该操作已由他人完成，请刷新后重试")
        if getattr(exc.orig, "sqlstate", None) == "22003":  # PostgreSQL: numeric value out of range
            return _error(request, 422, "输入有误", [{"field": "*", "message": "数值超出允许范围"}])
        if versions.is_busy(exc):
            resp = _error(request, 503, "数据库繁忙，请稍后重试")
            resp.headers["Retry-After"] = "1"
            resp.headers[BUSY_HEADER.decode()] = "1"  # BusyRetry runs the request again (the header is removed)
            return resp
        log.exception("database error on %s %s", request.method, request.url.path)
        return _error(request, 500, "服务器内部错误，已记录日志")

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> Response:
        # SQLite's driver refuses an integer above 2^63 before the query runs: a bad value, not a server fault.
        return _error(request, 422, "输入有误", [{"field": "*", "message": "数值超出允许范围"}])

    @app.exception_handler(ValidationFailed)
    async def _vf(request: Request, exc: ValidationFailed) -> Response:
        errors = [{"field": e.field, "message": e.message, **({"row": e.row} if e.row else {})} for e in exc.errors]
        return _error(request, 422, "输入有误", errors)

    @app.exception_handler(RequestValidationError)
    async def _rv(request: Request, exc: RequestValidationError) -> Response:
        errors: list[dict[str, object]] = [{"field": e.field, "message": e.message}
                                           for e in field_errors(exc.errors())]
        return _error(request, 422, "输入有误", errors)

    @app.exception_handler(HTTPException)
    def _http(request: Request, exc: HTTPException) -> Response:
        if exc.status_code in (302, 303) and exc.headers and "Location" in exc.headers:
            return RedirectResponse(exc.headers["Location"], status_code=exc.status_code)
        if exc.status_code == 403:
            _audit_denial(request, "auth.denied", str(exc.detail))
        if _wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        if exc.status_code == 401:
            return RedirectResponse("/login", status_code=303)
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(request, 500, "服务器内部错误，已记录日志")
