"""The quick refusal of included routers (doudi.web.routing) changes no answer: the same routes match, a wrong
method is still 405 and an unknown path 404."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.routing import _IncludedRouter
from fastapi.testclient import TestClient

from doudi.web.routing import guard_included_routers, literal_prefixes


def _app() -> FastAPI:
    app = FastAPI()
    cases = APIRouter(prefix="/cases")

    @cases.get("/{case_id}")
    def case(case_id: int) -> dict[str, int]:
        return {"case": case_id}

    @cases.post("")
    def create() -> dict[str, str]:
        return {"made": "yes"}

    root = APIRouter()

    @root.get("/")
    def home() -> dict[str, str]:
        return {"home": "yes"}

    inbox = APIRouter()

    @inbox.get("/inbox")
    def get_inbox() -> dict[str, str]:
        return {"inbox": "yes"}

    for r in (cases, root, inbox):
        app.include_router(r, prefix="/api")
    return app


def test_literal_prefixes_keep_the_shortest_of_each_family() -> None:
    app = _app()
    included = [r for r in app.router.routes if isinstance(r, _IncludedRouter)]
    assert [literal_prefixes(r) for r in included] == [("/api/cases",), ("/api/",), ("/api/inbox",)]


def test_answers_are_the_same_with_the_guard() -> None:
    plain, guarded = _app(), _app()
    assert guard_included_routers(guarded) == 3
    probes = [("GET", "/api/cases/7"), ("POST", "/api/cases"), ("DELETE", "/api/cases/7"), ("GET", "/api/inbox"),
              ("GET", "/api/"), ("GET", "/api/nothing"), ("GET", "/elsewhere"), ("GET", "/api/cases/x")]
    with TestClient(plain) as a, TestClient(guarded) as b:
        for method, path in probes:
            ra, rb = a.request(method, path), b.request(method, path)
            assert (ra.status_code, ra.content) == (rb.status_code, rb.content), (method, path)
        assert b.get("/api/cases/7").json() == {"case": 7}
        assert b.delete("/api/cases/7").status_code == 405
        assert b.get("/elsewhere").status_code == 404
