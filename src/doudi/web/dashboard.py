"""Cards on the workbench; each domain registers a provider that returns its cards for an actor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor


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
    from doudi.registry.models import Household

    n = session.scalar(select(func.count(Household.id)).where(Household.area_code.startswith(actor.prefix))) or 0
    return [Card("辖区家庭档案", f"{n:,}", "/households")]


def dashboard_cards(session: Session, *, actor: Actor) -> list[Card]:
    """Every card the actor may see."""
    cards: list[Card] = []
    for provider in PROVIDERS:
        cards.extend(provider(session, actor))
    return cards
