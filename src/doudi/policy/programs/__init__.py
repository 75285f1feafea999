"""The assistance programs, one module each (see :class:`doudi.policy.protocol.Program`).

Every module of this package that defines ``PROGRAM`` is a program; the engine, the explanations, the
stored decisions and the simulation iterate over :func:`all_programs` in the programs' declared order.
Adding a program means adding one module and its pack entries.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from doudi.policy.protocol import Program


@lru_cache(maxsize=1)
def all_programs() -> tuple[Program, ...]:
    """Every program, in its declared order (also the order of the evaluation output)."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        program = getattr(module, "PROGRAM", None)
        if program is not None:
            found.append(program)
    return tuple(sorted(found, key=lambda p: p.order))


def keys() -> tuple[str, ...]:
    """The program keys, in order."""
    return tuple(p.key for p in all_programs())


def by_key() -> dict[str, Program]:
    """Programs by key."""
    return {p.key: p for p in all_programs()}
