"""Dry-run of any import: run it inside a savepoint and roll the savepoint back, so the preview counts,
checks and quarantines exactly what the real import would, and leaves nothing behind."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")


def preview(session: Session, run: Callable[[], T]) -> T:
    """The result `run` would give, with every write it made undone."""
    nested = session.begin_nested()
    try:
        return run()
    finally:
        nested.rollback()
