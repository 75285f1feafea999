"""The data-source registry: each agency feed's declared schema, loaded from sources.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

import yaml


@dataclass(frozen=True)
class Column:
    """One declared column of a feed."""

    name: str
    type: str
    required: bool
    label: str
    values: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Source:
    """An agency data source and its feed schema."""

    key: str
    label: str
    agency: str
    yields: str  # person | income | asset | expense | status
    columns: tuple[Column, ...]
    period: str | None = None  # the column that dates a row
    natural_key: tuple[str, ...] = ()  # columns identifying one holding across batches (yaml: `key`)
    key_unique: bool = False  # the key is an identifier by itself: a repeat of person, key and date is one report
    # One row per person (a register, not a stream of monthly rows): its rows are linked to registry persons
    # one-to-one (an assignment), where other feeds' several rows may name one person.
    one_row_per_person: bool = False

    def column(self, name: str) -> Column:
        """The declared column of that name."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        """Declared column names, in order."""
        return [c.name for c in self.columns]


def _flatten(cols: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for c in cols:
        out.extend(_flatten(c) if isinstance(c, list) else [c])
    return out


@lru_cache
def load_sources() -> dict[str, Source]:
    """Every declared source by key."""
    data = yaml.safe_load(files("doudi.verification").joinpath("sources.yaml").read_text(encoding="utf-8"))
    out = {}
    for key, spec in data["sources"].items():
        cols = tuple(
            Column(c["name"], c["type"], bool(c.get("required", False)), c.get("label", c["name"]),
                   tuple(str(v) for v in c.get("values", ())), c.get("min"), c.get("max"))
            for c in _flatten(spec["columns"])
        )
        out[key] = Source(key, spec["label"], spec["agency"], spec["yields"], cols, spec.get("period"),
                          tuple(spec.get("key", ())), bool(spec.get("key_unique", False)),
                          bool(spec.get("one_row_per_person", False)))
    return out
