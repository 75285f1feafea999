"""A batch command keeps the memory it frees a while, for its next chunk; a server keeps the default."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from doudi.core import allocator

# What the `doudi` entry point does, in a fresh process: whether the setting is in place, and whether Polars was
# already loaded when it was made (then jemalloc would never have read it).
_PROBE = """
import json, os, sys
sys.argv = {argv!r}
import doudi.cli
print(json.dumps({{"conf": os.environ.get("_RJEM_MALLOC_CONF"), "polars": "polars" in sys.modules}}))
"""


def _probe(*argv: str, env: dict[str, str] | None = None) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if k != allocator.VARIABLE} | (env or {})
    out = subprocess.run([sys.executable, "-c", _PROBE.format(argv=["doudi", *argv])], capture_output=True,
                         text=True, check=True, env=clean)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_a_batch_command_keeps_freed_memory_and_polars_reads_it() -> None:
    got = _probe("assess", "--help")
    # Polars puts its own setting first and this one after it: the last value of an option wins.
    assert got["polars"] is True
    assert str(got["conf"]).endswith(",dirty_decay_ms:5000,muzzy_decay_ms:5000")
    # The setting is made before Polars loads: the modules imported ahead of it do not load Polars.
    code = "import sys, typer, sqlalchemy.exc, doudi.core.errors, doudi.core.validation, doudi.db.versions; " \
           "print('polars' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_other_commands_and_a_set_variable_are_left_alone() -> None:
    for argv in (("serve", "--help"), ("registry", "--help")):
        assert "dirty_decay_ms:5000" not in str(_probe(*argv)["conf"])
    mine = str(_probe("assess", "--help", env={allocator.VARIABLE: "narenas:2"})["conf"])
    assert mine.endswith(",narenas:2") and "dirty_decay_ms:5000" not in mine


def test_too_late_once_polars_is_loaded() -> None:
    # This test process has loaded Polars already: the variable would not be read, so it is not set.
    import polars  # noqa: F401

    before = os.environ.pop(allocator.VARIABLE, None)
    try:
        assert allocator.for_batch(["doudi", "assess"]) is False
        assert allocator.VARIABLE not in os.environ
    finally:
        if before is not None:
            os.environ[allocator.VARIABLE] = before
