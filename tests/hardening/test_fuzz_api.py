"""Fuzzing the API (issue 14 item 11): schemathesis generates requests from the OpenAPI document for every
operation (fixed seed, a bounded number per operation) as a county officer; no request may answer a server
error. bench/bench_fuzz.py runs the full campaign (≥ 20,000 requests, schema conformance too)."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, seed, settings
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, make_areas, make_user

EXAMPLES = int(os.environ.get("DOUDI_TEST_FUZZ_EXAMPLES", "3"))  # per operation: about 240 requests, < 1 min


def _sender(operation: Any, token: str, failures: list[str], statuses: Counter[int]) -> Any:
    @seed(14)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def send(case: Any) -> None:
        where = f"{operation.label} {case.path_parameters} {case.query} {str(case.body)[:200]}"
        try:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
        except Exception as exc:  # the in-process transport re-raises what the app's error handler logged
            failures.append(f"{where} → {type(exc).__name__}: {str(exc)[:200]}")
            return
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(f"{where} → HTTP {response.status_code}")

    return send


def test_no_operation_answers_a_server_error(app: Any, db: Session) -> None:
    make_areas(db)
    make_user(db, "fuzz", ["county_officer"], "370784")
    db.commit()
    with TestClient(app) as client:
        token = client.post("/api/v1/auth/token", data={"username": "fuzz", "password": PASSWORD}).json()
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]
    for operation in operations:
        if operation.path.endswith("/auth/revoke"):
            continue  # it would revoke the fuzzing token itself (revocation has its own tests in tests/auth)
        _sender(operation, token["access_token"], failures, statuses)()
    assert failures == []
    # The requests reached the routes: most were answered as the signed-in officer, not refused as anonymous.
    assert len(operations) > 60 and statuses[401] < sum(statuses.values()) // 10
