"""Imports every domain's models so that Base.metadata is complete (for Alembic and tests)."""

from __future__ import annotations

import importlib

MODEL_MODULES = [
    "doudi.areas.models",
    "doudi.auth.models",
    "doudi.audit.models",
    "doudi.ingest.models",
    "doudi.registry.models",
    "doudi.cases.models",
    "doudi.portal.models",
    "doudi.verification.models",
    "doudi.policy.models",
    "doudi.monitoring.models",
    "doudi.caseload.models",
    "doudi.payments.models",
    "doudi.care.models",
    "doudi.charity.models",
]


def load_all_models() -> None:
    """Import every models module listed above."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
