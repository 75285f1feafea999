"""Upload parsing runs off the event loop (issue 14 item 7): a compressed XLSX once froze every request because
its handler was `async` and parsed on the loop. Every route is a plain function (FastAPI runs it in its
thread pool); only the dependencies that await the request body are coroutines, and they only read it."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi.routing import APIRoute


def _routes(routes: list[Any]) -> list[APIRoute]:
    out: list[APIRoute] = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append(r)
        elif hasattr(r, "original_router"):  # a router included into the app
            out += _routes(r.original_router.routes)
    return out


def test_every_route_runs_in_the_thread_pool(app: Any) -> None:
    routes = _routes(app.routes)
    coroutines = [f"{sorted(r.methods or ())} {r.path}" for r in routes if inspect.iscoroutinefunction(r.endpoint)]
    assert len(routes) > 100 and coroutines == []
    uploads = [r.path for r in routes if "POST" in (r.methods or ()) and any(
        p in r.path for p in ("/households/import", "/verification/batches", "/documents", "/caseload"))]
    assert "/households/import" in uploads and "/verification/batches" in uploads  # both parse files, off the loop
