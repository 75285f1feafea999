"""The API under schemathesis: ≥ 20,000 generated requests from the OpenAPI document, as a county officer, on a
scratch SQLite database (areas and the officer only), in process (ASGI). Counts HTTP 500s and responses that do
not match the documented status codes and schemas.

    python -m bench fuzz              # DOUDI_BENCH_FUZZ_CASES (default 20,000), fixed seed

Reference measured in the same run: the same number of GET /healthz requests through the same transport.
Targets (issue 14): 0 server errors, 0 schema violations.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

CASES = int(os.environ.get("DOUDI_BENCH_FUZZ_CASES", "20000"))
SEED = 14


def main() -> None:
    """Generate and send the requests; print counts, failures by operation, and the reference."""
    # Imported here: schemathesis and the app stack are loaded only by this benchmark.
    import schemathesis
    from fastapi.testclient import TestClient
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

    from doudi.auth import service as auth
    from doudi.auth.permissions import system_actor
    from doudi.bootstrap import init_database
    from doudi.config import Settings
    from doudi.db.engine import make_engine, session_scope
    from doudi.main import create_app

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'fuzz.db'}"
        engine = make_engine(url)
        init_database(engine)
        with session_scope(engine) as session:
            auth.create_user(session, actor=system_actor(), username="fuzz", password="Kx9-qq-Passw0rd",
                             roles=["county_officer"], area_code="370784")
        app = create_app(Settings(data_dir=Path(tmp), database_url=url, secret_key="bench", log_level="CRITICAL"),
                         engine=engine)
        with TestClient(app) as client:
            token = client.post("/api/v1/auth/token", data={"username": "fuzz", "password": "Kx9-qq-Passw0rd"}
                                ).json()["access_token"]
            t0 = time.perf_counter()
            for _ in range(min(CASES, 2000)):
                client.get("/healthz")
            health_ms = (time.perf_counter() - t0) * 1000 / min(CASES, 2000)
        headers = {"Authorization": f"Bearer {token}"}
        schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
        operations = [r.ok() for r in schema.get_all_operations()]  # type: ignore[union-attr]
        operations = [op for op in operations if not op.path.endswith("/auth/revoke")]  # would end the token
        per_op = math.ceil(CASES / len(operations))
        statuses: Counter[int] = Counter()
        errors: Counter[str] = Counter()
        violations: Counter[str] = Counter()
        sent = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        def sender(operation: Any) -> Any:
            @seed(SEED)
            @settings(max_examples=per_op, deadline=None, database=None, phases=[Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def send(case: Any) -> None:
                nonlocal sent
                sent += 1
                try:
                    response = case.call(headers=headers)
                except Exception as exc:  # the in-process transport re-raises an unhandled error
                    errors[f"{operation.label}: {type(exc).__name__}"] += 1
                    return
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    errors[f"{operation.label}: HTTP {response.status_code}"] += 1
                try:
                    case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                             response_schema_conformance], headers=headers)
                except Exception as exc:  # a check's failure (or a group of them)
                    violations[f"{operation.label}: {str(exc).strip().splitlines()[0][:120]}"] += 1

            return send

        took: dict[str, float] = {}
        for done, operation in enumerate(operations, 1):
            t_op = time.perf_counter()
            sender(operation)()
            took[operation.label] = time.perf_counter() - t_op
            # Progress on stderr: a long run on a shared machine shows how far it got.
            print(f"{done}/{len(operations)} operations, {sent:,} requests, "
                  f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        engine.dispose()
    print(f"schemathesis {schemathesis.__version__}, seed {SEED}: {sent:,} requests over {len(operations)} "
          f"operations in {elapsed:.0f} s ({sent / elapsed:.0f} req/s, {elapsed * 1000 / max(sent, 1):.1f} ms each); "
          f"CPU {cpu:.0f} s ({cpu * 1000 / max(sent, 1):.1f} ms each)")
    print(f"database: scratch SQLite file; input: the OpenAPI document of /api/v1, {per_op:,} cases per operation")
    print("slowest operations: " + "; ".join(f"{label} {sec:.0f} s" for label, sec in
                                            sorted(took.items(), key=lambda kv: -kv[1])[:3]))
    print("status codes: " + ", ".join(f"{k}×{v:,}" for k, v in sorted(statuses.items())))
    server_errors = sum(errors.values())
    print(f"server errors: {server_errors} (target 0: {'OK' if server_errors == 0 else 'MISSED'})")
    for label, n in errors.most_common(20):
        print(f"  {n:5d}  {label}")
    schema_bad = sum(violations.values())
    print(f"schema violations: {schema_bad} (target 0: {'OK' if schema_bad == 0 else 'MISSED'})")
    for label, n in violations.most_common(20):
        print(f"  {n:5d}  {label}")
    print(f"reference GET /healthz through the same transport: {health_ms:.2f} ms → "
          f"fuzzed request / healthz = {elapsed * 1000 / max(sent, 1) / health_ms:.1f}×")
    print(f"requests sent ≥ {CASES:,}: {'OK' if sent >= CASES else 'MISSED'}")


if __name__ == "__main__":
    main()
