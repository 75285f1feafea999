"""The parameter values in force on one date, and the errors of a pack.

This is the bottom of the policy package: the program declarations (:mod:`doudi.policy.protocol`)
read these values, and pack loading (:mod:`doudi.policy.params`) type-checks against those declarations.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from doudi.core.errors import DoudiError


class PackError(DoudiError, ValueError):
    """A policy pack is malformed, or a needed parameter is not in force."""


class MissingParameter(PackError, KeyError):
    """A parameter has no value in force on the date asked (a KeyError, so Mapping.get works)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Resolved(Mapping[str, Any]):
    """The parameter values in force on one date for one region (read-only mapping)."""

    region: str
    on: date
    version: str
    data: dict[str, Any]
    defined: frozenset[str] = frozenset()  # every key some pack of the chain defines (in force or not)
    provisional: frozenset[str] = frozenset()  # keys whose value in force is provisional (待确认)
    starts: Mapping[str, date] = field(default_factory=dict)  # key → first date it has a truthy value

    def __hash__(self) -> int:
        return hash((self.region, self.on, self.version))

    def __getitem__(self, key: str) -> Any:
        try:
            return self.data[key]
        except KeyError:
            raise MissingParameter(f"{self.region}: 参数 {key} 在 {self.on} 没有有效值") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)
