"""Work other domains add to a caseworker's inbox (warnings to answer, rolls to approve, visits to check)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor

# Each module exposes `inbox_items(session, *, actor, today) -> list[InboxItem]`, already scoped to the actor;
# domains append theirs.
INBOX_SOURCES: list[str] = [
    "doudi.monitoring.inbox",
    "doudi.payments.jobs",  # rolls to approve
    "doudi.care.inbox",  # flagged visits, re-assessments due, open complaints
    "doudi.charity.inbox",  # needs to confirm or re-match; a partner's needs to answer
]


@dataclass(frozen=True)
class InboxItem:
    """One line of another domain's work in the inbox."""

    kind: str  # the domain's Chinese label, e.g. 预警
    title: str
    url: str
    due_on: date | None
    overdue: bool


def other_items(session: Session, *, actor: Actor, today: date) -> list[InboxItem]:
    """Every registered domain's items for this actor, overdue first, then by due date."""
    items: list[InboxItem] = []
    for name in INBOX_SOURCES:
        items.extend(importlib.import_module(name).inbox_items(session, actor=actor, today=today))
    return sorted(items, key=lambda i: (not i.overdue, i.due_on or date.max, i.title))
