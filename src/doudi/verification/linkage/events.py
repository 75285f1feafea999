"""Possible double registrations found by linkage, announced to whoever listens (the monitoring domain raises
its 重复 warning), registered here so that verification never imports the listener's domain."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DoubleRegistration:
    """A feed identity with its own valid ID number whose name, sex and birth date are a registry person's
    who holds another valid number: one person registered twice, or namesakes (the review decides)."""

    review_id: int
    batch_id: int
    source_key: str
    row_numbers: tuple[int, ...]
    person_id: int  # the registry person
    area_code: str  # the registry person's household area
    name: str
    id_given: str  # the number the feed row carries
    probability: float


Listener = Callable[[Session, Actor, list[DoubleRegistration]], None]
_LISTENERS: dict[str, Listener] = {}


def on_double_registration(name: str, listener: Listener) -> None:
    """Register (or replace) a listener, called in the linking transaction."""
    _LISTENERS[name] = listener


def listeners() -> list[str]:
    """Names of the registered listeners."""
    return sorted(_LISTENERS)


def announce(session: Session, *, actor: Actor, found: list[DoubleRegistration]) -> dict[str, str]:
    """Tell every listener, each in its own savepoint: a failing listener is rolled back and logged, the link
    stands (the review queue still holds the pair). Returns the listeners that failed, with their errors."""
    failed: dict[str, str] = {}
    if not found:
        return failed
    for name, listener in list(_LISTENERS.items()):
        try:
            with session.begin_nested():
                listener(session, actor, found)
        except Exception as exc:  # a follow-on warning must not undo the linking; the error is kept in the log
            log.warning("疑似重复登记通知 %s 失败：%s", name, exc)
            failed[name] = str(exc)
    return failed
