"""Sections other domains add to the household page (evaluation, cases, verification…)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from doudi.auth.permissions import Actor
from doudi.registry.models import Household


@dataclass
class Panel:
    """A titled block of HTML rendered from a template with its own context."""

    title: str
    template: str
    context: dict[str, object]


PanelProvider = Callable[[Session, Actor, Household], Panel | None]
PROVIDERS: list[PanelProvider] = []


def register(provider: PanelProvider) -> PanelProvider:
    """Add a panel provider (usable as a decorator)."""
    if provider not in PROVIDERS:
        PROVIDERS.append(provider)
    return provider


def panels_for(session: Session, *, actor: Actor, household: Household) -> list[Panel]:
    """Every panel the providers offer for this household and actor."""
    out = []
    for provider in PROVIDERS:
        panel = provider(session, actor, household)
        if panel is not None:
            out.append(panel)
    return out
