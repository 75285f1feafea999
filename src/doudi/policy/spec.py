"""The parameters the rules read, with the kind of value each must hold.

Each program declares its parameters in its own module (a typed :class:`~doudi.policy.protocol.Params`
set); the shared columns (:mod:`doudi.policy.prepare`) and the registry reader declare theirs. The keys
listed here are type-checked when a pack is loaded, and the required ones must be in force for an
evaluation to run. Packs may define any other dotted key (``procedure.*``, ``calendar.*`` …). Keys under
``refs.`` are the dated legal references a reason cites: lists of citations.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from doudi.policy.frames import ReaderParams
from doudi.policy.prepare import SharedParams
from doudi.policy.programs import all_programs
from doudi.policy.protocol import Params

INCOME_KINDS = ("wage", "business", "property", "transfer", "basic_pension")
REFS_PREFIX = "refs."


def param_sets() -> list[type[Params]]:
    """Every declared parameter set: shared columns, the registry reader, then each program."""
    return [SharedParams, ReaderParams, *[p.params for p in all_programs()]]


@lru_cache(maxsize=1)
def known() -> dict[str, str]:
    """Every declared key → its kind."""
    return {s.key: s.kind for cls in param_sets() for s in cls.specs()}


@lru_cache(maxsize=1)
def required() -> tuple[str, ...]:
    """The keys that must be in force on every evaluation date the rules cover."""
    return tuple(sorted({s.key for cls in param_sets() for s in cls.specs() if not s.optional}))


def kind_of(key: str) -> str | None:
    """The declared kind of a key (``refs.*`` keys are lists of citations); None when not declared."""
    if key.startswith(REFS_PREFIX):
        return "refs"
    return known().get(key)


def kind_ok(kind: str, value: Any) -> bool:
    """True when `value` is of the parameter kind ('number', 'int', 'bool', 'str', 'list', 'dict', 'date', 'refs')."""
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "list":
        return isinstance(value, list)
    if kind == "refs":
        return isinstance(value, list) and all(isinstance(v, str) and v for v in value)
    if kind == "dict":
        return isinstance(value, dict)
    if kind == "date":
        return isinstance(value, date)
    return True
