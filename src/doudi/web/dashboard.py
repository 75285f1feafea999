"""Cards on the workbench; each domain registers a provider that returns its cards for an actor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.auth.scope import area_clause
from doudi.cases.models import Case, CaseStatus
from doudi.cases.service import overdue_counts
from doudi.registry.models import Household


@dataclass
class Card:
    """A figure on the workbench with a link to the list behind it."""

    title: str
    value: str
    url: str = ""
    note: str = ""
    tone: str = ""  # "", "warn" or "bad"


CardProvider = Callable[[Session, Actor], list[Card]]
PROVIDERS: list[CardProvider] = []


def register(provider: CardProvider) -> CardProvider:
    """Add a card provider (usable as a decorator)."""
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)
    return provider


@register
def _registry_cards(session: Session, actor: Actor) -> list[Card]:
    if not actor.can("household.read"):
        return []
    n = session.scalar(select(func.count(Household.id)).where(area_clause(Household.area_code, actor))) or 0
    return [Card("辖区家庭档案", f"{n:,}", "/households")]


def dashboard_cards(session: Session, *, actor: Actor) -> list[Card]:
    """Every card the actor may see."""
    cards: list[Card] = []
    for provider in PROVIDERS:
        cards.extend(provider(session, actor))
    return cards


@register
def _case_cards(session: Session, actor: Actor) -> list[Card]:
    if not actor.can("case.read"):
        return []
    base = select(func.count(Case.id)).where(area_clause(Case.area_code, actor))
    open_n = session.scalar(base.where(Case.status == CaseStatus.OPEN)) or 0
    waiting = session.scalar(base.where(Case.status == CaseStatus.SUBMITTED)) or 0
    overdue, cases = overdue_counts(session, actor=actor)  # the inbox and the case list count the same steps
    return [Card("办理中案件", f"{open_n:,}", "/cases?status=open"),
            Card("待受理申请", f"{waiting:,}", "/cases?status=submitted", tone="warn" if waiting else ""),
            Card("超时环节", f"{overdue:,}", "/inbox?only=overdue", note=f"涉及 {cases:,} 件案件" if overdue else "",
                 tone="bad" if overdue else "")]
