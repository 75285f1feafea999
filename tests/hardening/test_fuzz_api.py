"""Fuzzing the API (issue 14 item 11): schemathesis generates requests from the OpenAPI document for every
operation (fixed seed, bounded examples) as a county officer; no request may answer a server error."""

from __future__ import annotations

import time
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, make_areas, make_user

import os
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))  # per operation: the suite's budget; bench/bench_fuzz.py runs the full campaign


def test_no_operation_answers_a_server_error(app: Any, db: Session) -> None:
    make_areas(db)
    make_user(db, "fuzz", ["county_officer"], "370784")
    db.commit()
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/token", data={"username": "fuzz", "password": PASSWORD}).json()["access_token"]
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    started, calls = time.monotonic(), 0
    statuses: dict[int, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith("/auth/revoke"):
            continue  # it would revoke the fuzzing token itself (its own test is in tests/auth)

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            try:
                response = case.call(headers={"Authorization": f"Bearer {token}"})
            except Exception as exc:  # the in-process transport re-raises what the app's error handler logged
                failures.append(f"{operation.label} → {type(exc).__name__}: {str(exc)[:200]} "
                                f"{case.path_parameters} {case.query} {str(case.body)[:200]}")
                return
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                failures.append(f"{operation.label} → {response.status_code}: {case.path_parameters} "
                                f"{case.query} {str(case.body)[:200]}")

        run()
    print(f"{calls} requests in {time.monotonic() - started:.1f} s", sorted(statuses.items()))
    assert failures == []
