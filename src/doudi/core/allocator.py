"""The memory allocator's settings for a batch command's process, set before Polars is first loaded."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

# Polars sets its allocator (jemalloc) to hand pages freed for half a second back to the kernel, and appends
# this variable to its own setting (the last value wins). A batch streams chunk after chunk, so each chunk
# touched fresh pages again: a 10M-household `doudi assess` spent 15 s of its 84 s of CPU in the kernel.
# Kept for 5 s instead (a chunk takes about one): 7.5 s, and 46.8 → 40.6 s, with the peak still bounded
# (2.2 GiB; never returning them: 41.4 s, 2.4 GiB). A server is not a batch command and keeps Polars' setting.
VARIABLE = "_RJEM_MALLOC_CONF"
BATCH_CONF = "dirty_decay_ms:5000,muzzy_decay_ms:5000"
BATCH_COMMANDS = frozenset({"assess", "simulate", "monitor", "scale"})


def for_batch(argv: Sequence[str]) -> bool:
    """Keep freed memory for reuse a while when `argv` runs a batch command (unless the variable is already set, or
    Polars is already loaded and would no longer read it). Whether the setting is in place."""
    if len(argv) < 2 or argv[1] not in BATCH_COMMANDS or "polars" in sys.modules:
        return os.environ.get(VARIABLE) == BATCH_CONF
    os.environ.setdefault(VARIABLE, BATCH_CONF)
    return os.environ[VARIABLE] == BATCH_CONF
