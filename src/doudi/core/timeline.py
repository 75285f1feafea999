"""One link of a household's assistance chain (一户一条救助链), the shape every domain's part of it takes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ChainEvent:
    """When, which kind (Chinese), what, and where to look."""

    on: date
    kind: str
    title: str
    detail: str = ""
    url: str = ""
